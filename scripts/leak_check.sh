#!/usr/bin/env bash
# Leak check: runs the C sample (samples/c/detect_video, linked only against libvasdk) on the
# first frames of vtest.avi and fails on any leaked byte or memory error.
#
#   scripts/leak_check.sh [--build-dir DIR] [--frames N] [--valgrind]
#
# Default: LeakSanitizer, through the ASan + UBSan build (build-asan, which the sanitize stage
# builds; configured here if missing). At exit LSan reports every unreachable block
# (valgrind's "definitely" and "indirectly lost"); ORT's process-lifetime allocations are still
# reachable and are not reported, so no suppressions are needed.
# --valgrind: memcheck on a plain build instead (build/, by hand only: ORT under valgrind on
# this 2-core machine takes well over 10 minutes for 20 frames). Third-party suppressions and
# why: scripts/sanitizers/valgrind.supp.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=
FRAMES=20
VALGRIND=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD=$2; shift 2 ;;
    --frames) FRAMES=$2; shift 2 ;;
    --valgrind) VALGRIND=1; shift ;;
    *) echo "leak_check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
ASSETS=${VASDK_ASSETS:-$ROOT/.cache/assets}
if [ -z "$BUILD" ]; then
  if [ "$VALGRIND" = 1 ]; then BUILD=$ROOT/build; else BUILD=$ROOT/build-asan; fi
fi
BIN=$BUILD/samples/detect_video
if [ ! -x "$BIN" ]; then
  san=()
  [ "$VALGRIND" = 1 ] || san=(-DVASDK_SANITIZE=address,undefined)
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${san[@]}" >/dev/null
  cmake --build "$BUILD" -j "$(nproc)" --target detect_video
fi
OUT=$BUILD/leak_check.out.txt
LOG=$BUILD/leak_check.log
OPTIONS='{"threads": 1}'

set +e
if [ "$VALGRIND" = 1 ]; then
  valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    --suppressions="$ROOT/scripts/sanitizers/valgrind.supp" --log-file="$LOG" \
    "$BIN" "$ASSETS/yolov3-tiny.onnx" "$ASSETS/vtest.avi" "$OPTIONS" "$FRAMES" >"$OUT"
  rc=$?
else
  ASAN_OPTIONS=detect_leaks=1:leak_check_at_exit=1:exitcode=99:log_path="$LOG" \
  LSAN_OPTIONS=report_objects=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$BIN" "$ASSETS/yolov3-tiny.onnx" "$ASSETS/vtest.avi" "$OPTIONS" "$FRAMES" >"$OUT"
  rc=$?
fi
set -e
frames_seen=$(awk '{print $2}' "$OUT" | sort -u | wc -l)
if [ "$rc" -ne 0 ]; then
  echo "leak_check: FAILED (exit $rc); reports:" >&2
  cat "$LOG"* 2>/dev/null | head -100 >&2
  exit 1
fi
if [ "$frames_seen" -lt 1 ]; then
  echo "leak_check: FAILED: the sample printed no detections (see $OUT)" >&2
  exit 1
fi
echo "leak_check: $FRAMES frames of vtest.avi ($(wc -l <"$OUT") detections on $frames_seen frames)," \
  "$([ "$VALGRIND" = 1 ] && echo valgrind || echo LeakSanitizer): 0 bytes leaked, no memory errors"
