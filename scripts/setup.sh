#!/usr/bin/env bash
# One-shot, idempotent set-up for a fresh Debian 12 (bookworm) or 13 (trixie) machine.
#   system packages -> ONNX Runtime headers -> venv + pip packages -> vasdk build -> real assets
# Re-running skips whatever is already in place. Everything lands in the repo's ignored
# folders (.venv, .cache, build); nothing is fetched later at run time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${VASDK_CACHE:-$ROOT/.cache}
VENV=${VASDK_VENV:-$ROOT/.venv}
PY_SYS=/usr/bin/python3
log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

need_root() { [ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (apt-get install)" >&2; exit 1; }; }

APT_PKGS=(
  build-essential cmake ninja-build pkg-config git ca-certificates xz-utils
  python3 python3-dev python3-venv
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg
  libgtest-dev libgmock-dev nlohmann-json3-dev libeigen3-dev libturbojpeg0-dev
  clang clang-format clang-tidy valgrind abigail-tools libclang-rt-14-dev
  libopencv-dev  # the OpenCV DNN engine backend (built when present)
  g++-aarch64-linux-gnu qemu-user googletest  # scripts/aarch64_check.sh
  # scripts/rtsp_server.py (RTSP source tests, demos): GstRtspServer from Debian's python3-gi
  gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  libmosquitto-dev mosquitto mosquitto-clients openssl  # MQTT sink and its tests
  libssl-dev  # model packs: AES-256-GCM through libcrypto
  librdkafka-dev  # Kafka sink (tests use its in-process mock cluster)
  chromium  # the live view's browser tests (Playwright drives this one; it downloads none)
)

install_apt() {
  local missing=()
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # `apt-get download opencv-doc` (assets) needs package lists even when nothing is missing.
  if [ ${#missing[@]} -eq 0 ] && ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
    log "apt packages present"; return
  fi
  need_root
  apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# ORT C/C++ headers: Debian's libonnxruntime-dev (trixie and later). On bookworm we fetch only
# that .deb from trixie with a private apt state, leaving the system's sources untouched.
install_ort_headers() {
  local dest=$CACHE/ort-headers
  if [ -f "$dest/usr/include/onnxruntime/onnxruntime_c_api.h" ]; then log "ORT headers present"; return; fi
  if [ -f /usr/include/onnxruntime/onnxruntime_c_api.h ]; then log "ORT headers from system"; return; fi
  if apt-cache show libonnxruntime-dev >/dev/null 2>&1; then
    need_root; apt-get install -y -qq --no-install-recommends libonnxruntime-dev >/dev/null; return
  fi
  log "fetching libonnxruntime-dev (trixie) for headers"
  local st=$CACHE/apt-trixie
  mkdir -p "$st/lists/partial" "$st/archives/partial" "$dest"
  echo 'deb http://deb.debian.org/debian trixie main' >"$st/sources.list"
  local o=(-o "Dir::Etc::SourceList=$st/sources.list" -o Dir::Etc::SourceParts=/dev/null
           -o "Dir::State::Lists=$st/lists" -o "Dir::Cache::Archives=$st/archives"
           -o Debug::NoLocking=1)
  apt-get "${o[@]}" update -qq
  (cd "$st" && apt-get "${o[@]}" download libonnxruntime-dev >/dev/null)
  dpkg -x "$st"/libonnxruntime-dev_*.deb "$dest"
  test -f "$dest/usr/include/onnxruntime/onnxruntime_c_api.h"
}

install_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    $PY_SYS -m venv "$VENV"
  fi
  local stamp=$VENV/.requirements.md5 want
  want=$(md5sum "$ROOT/scripts/requirements.txt" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then log "pip requirements present"; return; fi
  log "pip install requirements"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q -r "$ROOT/scripts/requirements.txt"
  # The compiled tracker peer of benchmarks/bench_tracker.py (Rust SORT and ByteTrack). Optional:
  # wheels only (no Rust toolchain here); without one the benchmark skips its rows and says so.
  "$VENV/bin/pip" install -q --only-binary=:all: ioutrack-rs==0.4.0 ||
    log "ioutrack-rs has no wheel for this Python; bench_tracker.py will skip the Rust peer"
  echo "$want" >"$stamp"
}

# Optional extra: the openvino wheel, whose libopenvino_c the "openvino" engine backend loads at
# run time. A failure here (no wheel for this platform, no network) is logged, not fatal:
# vasdk then runs on ONNX Runtime as before. VASDK_NO_OPENVINO=1 skips it.
install_openvino() {
  local req=$ROOT/scripts/requirements-openvino.txt stamp=$VENV/.requirements-openvino.md5 want
  if [ "${VASDK_NO_OPENVINO:-0}" = 1 ]; then log "openvino skipped (VASDK_NO_OPENVINO=1)"; return; fi
  want=$(md5sum "$req" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then log "openvino present"; return; fi
  log "pip install openvino (optional)"
  if "$VENV/bin/pip" install -q -r "$req"; then
    echo "$want" >"$stamp"
  else
    log "openvino could not be installed; the OpenVINO backend is unavailable (vasdk uses ONNX Runtime)"
  fi
}

install_trackeval() {
  # trackeval 1.3.0 (HOTA for the tracking tests and benchmark) declares opencv-python, which
  # would install next to opencv-python-headless and clash over the cv2 module. trackeval
  # itself runs with the headless build, so install it without its declared dependencies;
  # the ones it imports (scipy, pycocotools, tabulate, matplotlib) are in requirements.txt.
  if "$VENV/bin/python" -c 'import importlib.metadata as m; assert m.version("trackeval") == "1.3.0"' 2>/dev/null; then
    log "trackeval present"
    return
  fi
  log "pip install --no-deps trackeval==1.3.0"
  "$VENV/bin/pip" install -q --no-deps trackeval==1.3.0
}

build_vasdk() {
  log "pip install -e . (libvasdk.so + vasdk._core + the test-only vasdk._testing)"
  local ort_hdr=$CACHE/ort-headers/usr
  [ -d "$ort_hdr" ] || ort_hdr=/usr
  # Build isolation off: the build tools come from requirements.txt, so re-runs stay offline.
  # VASDK_BUILD_TEST_MODULE: the tests' and benchmarks' bindings; wheels (pyproject) leave it off.
  CMAKE_ARGS="-DONNXRUNTIME_ROOT=$ort_hdr -DVASDK_BUILD_TEST_MODULE=ON ${CMAKE_ARGS:-}" \
    "$VENV/bin/pip" install -q --no-build-isolation -e "$ROOT" 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c 'import vasdk._core, vasdk._testing' # fail here if the build broke
}

fetch_assets() {
  log "assets -> $CACHE/assets"
  "$VENV/bin/python" "$ROOT/scripts/assets.py" fetch --cache "$CACHE/assets"
}

main() {
  install_apt
  install_ort_headers
  install_venv
  install_openvino
  install_trackeval
  build_vasdk
  fetch_assets
  log "done"
}
main "$@"
