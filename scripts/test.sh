#!/usr/bin/env bash
# Every test, from a fresh machine: set up, then
#   1. C++ (GoogleTest), C API (C99) and export checks through ctest;
#   2. the same C, C++ and C API tests under ASan + UBSan;
#   3. pytest over the installed package (bindings, cffi C ABI, C sample, CLI, model tools);
#   4. lint: ruff and clang-format.
# Stages can be chosen: scripts/test.sh [--no-setup] [unit] [sanitize] [python] [lint]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
JOBS=$(nproc)
SETUP=1
STAGES=()
for a in "$@"; do
  case "$a" in
    --no-setup) SETUP=0 ;;
    unit|sanitize|python|lint) STAGES+=("$a") ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done
[ ${#STAGES[@]} -gt 0 ] || STAGES=(unit sanitize python lint)
[ "$SETUP" = 0 ] || "$ROOT/scripts/setup.sh"

export VASDK_ASSETS=$ROOT/.cache/assets
export OPENBLAS_NUM_THREADS=1
log() { printf '\n\033[1m[test] %s\033[0m\n' "$*"; }
t_start=$(date +%s)

cmake_build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVASDK_ASSETS_DIR="$VASDK_ASSETS" "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}

for stage in "${STAGES[@]}"; do
  case "$stage" in
    unit)
      log "C++ / C API tests (ctest)"
      cmake_build build
      ctest --test-dir build --output-on-failure -j "$JOBS"
      ;;
    sanitize)
      log "C++ / C API tests under ASan + UBSan"
      cmake_build build-asan -DVASDK_SANITIZE=address,undefined
      # Leak checking on, and no suppressions: ORT (dlopen()ed, uninstrumented) reports none.
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j "$JOBS"
      ;;
    python)
      log "pytest"
      .venv/bin/python -m pytest -q tests/python
      ;;
    lint)
      log "ruff + clang-format"
      .venv/bin/ruff check .
      git ls-files -- '*.c' '*.h' '*.cpp' | xargs clang-format --dry-run -Werror
      ;;
  esac
done
log "all stages passed in $(( $(date +%s) - t_start )) s"
