#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each one for a bounded time.
#
#   scripts/fuzz.sh [--seconds N] [--jobs N] [--parallel N] [--build-dir DIR] [TARGET...]
#
# Defaults: every tests/fuzz/fuzz_*.cpp target, 25 s each (what CI runs through
# scripts/test.sh fuzz). For a long run, e.g. overnight: scripts/fuzz.sh --seconds 3600.
# --jobs N gives each target N libFuzzer workers; --parallel N runs N targets at once (CI: one
# per core, so every target still gets its full N seconds of one core).
# Each target starts from the committed seed corpus tests/fuzz/corpus/<target>/ and writes the
# inputs it discovers to build-fuzz/corpus/<target>/ (not committed; copy interesting ones into
# the seed folder by hand). A crash leaves crash-*/leak-*/timeout-* files in
# build-fuzz/artifacts/<target>/ and fails the script; reproduce with
#   build-fuzz/tests/fuzz/<target> build-fuzz/artifacts/<target>/crash-...
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECONDS_PER=25
JOBS=1
PARALLEL=1
BUILD=$ROOT/build-fuzz
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --parallel) PARALLEL=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
export VASDK_ASSETS=${VASDK_ASSETS:-$ROOT/.cache/assets}
if [ ${#TARGETS[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.cpp; do TARGETS+=("$(basename "$f" .cpp)"); done
fi

# -O1 with line tables: crash reports keep file:line, and the build takes far less time.
# The same settings as scripts/test.sh's ASan tree, which CI shares with this script.
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DVASDK_FUZZ_FLAGS= -DVASDK_BUILD_FUZZERS=ON -DVASDK_SANITIZE=address,undefined \
  -DVASDK_BUILD_PYTHON=OFF -DVASDK_ASSETS_DIR="$VASDK_ASSETS" >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target "${TARGETS[@]}"

# ORT is dlopen()ed and uninstrumented; its allocations at exit are not ours, and its one-time
# OrtEnv lives until exit by design (see README: loaded once per process), so leak detection
# stays on for our code through libFuzzer's per-input check (-detect_leaks=1).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fuzz_one() {  # target: runs it, then prints its summary (or its failure) in one piece
  local t=$1 seeds=$ROOT/tests/fuzz/corpus/$1 work=$BUILD/corpus/$1 art=$BUILD/artifacts/$1
  mkdir -p "$work" "$art" "$seeds"
  local extra=()
  [ -f "$ROOT/tests/fuzz/$t.dict" ] && extra+=(-dict="$ROOT/tests/fuzz/$t.dict")
  [ "$JOBS" -gt 1 ] && extra+=(-jobs="$JOBS" -workers="$JOBS")
  local rc=0
  "$BUILD/tests/fuzz/$t" "$work" "$seeds" "${extra[@]}" -max_total_time="$SECONDS_PER" \
      -timeout=20 -rss_limit_mb=4096 -max_len=4096 \
      -artifact_prefix="$art/" -print_final_stats=1 >"$art/log.txt" 2>&1 || rc=$?
  printf '\n\033[1m[fuzz] %s for %s s\033[0m\n' "$t" "$SECONDS_PER"
  if [ "$rc" = 0 ]; then
    grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+.*DONE)' "$art/log.txt" || true
  else
    echo "[fuzz] $t FAILED; last lines of $art/log.txt:" >&2
    tail -n 60 "$art/log.txt" >&2
    return 1
  fi
}

status=0
running=0
for t in "${TARGETS[@]}"; do
  if [ "$running" -ge "$PARALLEL" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
  fuzz_one "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
