#!/usr/bin/env bash
# Packaging checks: what the SDK install and the wheel contain, and that samples/c builds and
# runs against the installed SDK (CMake package and pkg-config), as an integrator would.
#   scripts/package_check.sh BUILD_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:?usage: package_check.sh BUILD_DIR}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "package_check: $*" >&2; exit 1; }

echo "[package] SDK install"
cmake --install "$BUILD" --prefix "$TMP/prefix" >/dev/null
P=$TMP/prefix
for f in include/vasdk/vasdk.h include/vasdk/vasdk_version.h lib/libvasdk.so \
         lib/cmake/vasdk/vasdkConfig.cmake lib/cmake/vasdk/vasdkConfigVersion.cmake \
         lib/pkgconfig/vasdk.pc; do
  [ -e "$P/$f" ] || fail "installed SDK lacks $f"
done
extra=$(cd "$P/include" && find . -type f ! -name 'vasdk.h' ! -name 'vasdk_version.h')
[ -z "$extra" ] || fail "only the C headers may be installed, found: $extra"

echo "[package] samples/c against the installed SDK (find_package)"
cmake -S "$ROOT/samples/c" -B "$TMP/samples" -G Ninja -DCMAKE_PREFIX_PATH="$P" >/dev/null
cmake --build "$TMP/samples" >/dev/null
out=$(LD_LIBRARY_PATH="$P/lib" "$TMP/samples/detect_video" "$VASDK_ASSETS/yolov3-tiny.onnx" \
      "$VASDK_ASSETS/vtest.avi" '{"threads": 2}' 3)
echo "$out" | grep -q '^frame 2 person ' || fail "sample printed no person in frame 2: $out"

echo "[package] multi_channel samples (C99 and C++17) against the installed SDK"
cmake -S "$ROOT/samples/cpp" -B "$TMP/samples-cpp" -G Ninja -DCMAKE_PREFIX_PATH="$P" >/dev/null
cmake --build "$TMP/samples-cpp" >/dev/null
ffmpeg -loglevel error -i "$VASDK_ASSETS/vtest.avi" -frames:v 30 -c:v libx264 -g 10 -bf 0 "$TMP/clip.mp4"
for exe in "$TMP/samples/multi_channel" "$TMP/samples-cpp/multi_channel_cpp"; do
  out=$(LD_LIBRARY_PATH="$P/lib" "$exe" "$VASDK_ASSETS/yolov3-tiny.onnx" -t 6 "$TMP/clip.mp4" "$TMP/clip.mp4")
  echo "$out" | grep -q '^final {.*"processed"' || fail "$(basename "$exe") printed no final stats: $out"
  echo "$out" | grep -q '"id":"cam1"' || fail "$(basename "$exe") ran no second channel: $out"
done

echo "[package] samples/c with pkg-config"
PKG_CONFIG_PATH="$P/lib/pkgconfig" cc -std=c99 -Wall -Werror "$ROOT/samples/c/detect_video.c" \
  $(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs vasdk) -o "$TMP/dv_pc"
LD_LIBRARY_PATH="$P/lib" "$TMP/dv_pc" "$VASDK_ASSETS/yolov3-tiny.onnx" "$VASDK_ASSETS/vtest.avi" \
  '{"threads": 2}' 1 | grep -q '^frame 0 ' || fail "pkg-config build printed no detections"

echo "[package] wheel contents"
"$ROOT/.venv/bin/pip" wheel -q --no-build-isolation --no-deps -w "$TMP/wheel" "$ROOT" \
  2>&1 | grep -v '^WARNING: Location' || true
whl=$(ls "$TMP"/wheel/vasdk-*.whl) || fail "no wheel built"
"$ROOT/.venv/bin/python" - "$whl" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = {"vasdk/__init__.py", "vasdk/libvasdk.so", "vasdk/include/vasdk/vasdk.h", "vasdk/py.typed",
        "vasdk/_core.pyi", "vasdk/capi.py", "vasdk/cli.py",
        # the live view's page and RTSP relay are data files of the package
        "vasdk/live/static/index.html", "vasdk/live/static/app.js", "vasdk/live/static/app.css",
        "vasdk/live/rtsp_relay.py"}
missing = need - names
core = [n for n in names if n.startswith("vasdk/_core.") and n.endswith(".so")]
if missing or not core:
    sys.exit(f"wheel lacks {sorted(missing) or '_core extension'}")
bad = [n for n in names if n.endswith((".avi", ".onnx", ".weights", ".mp4"))]
if bad:
    sys.exit(f"wheel must not carry assets: {bad}")
# Test-only code stays out: the vasdk._testing module and the asset downloader (scripts/).
dev = [n for n in names if n.startswith(("vasdk/_testing", "vasdk/assets.py"))]
if dev:
    sys.exit(f"wheel must not carry test-only code: {dev}")
print(f"[package] wheel ok: {len(names)} files")
PY
echo "[package] all checks passed"
