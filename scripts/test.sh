#!/usr/bin/env bash
# Every test and quality gate, from a fresh machine: set up, then
#   unit      C++ (GoogleTest), C API (C99) and export checks through ctest;
#   package   SDK install contents, samples/c built against it (CMake + pkg-config), wheel
#             contents (scripts/package_check.sh);
#   abi       libvasdk.so against the committed ABI baseline (scripts/abi_check.sh);
#   sanitize  the C, C++ and C API tests under clang's ASan + UBSan (-fno-sanitize-recover=all);
#   leak      the C sample from that build under LeakSanitizer on 20 frames of vtest.avi
#             (scripts/leak_check.sh; --valgrind there for a memcheck run by hand);
#   tsan      the multi-threaded tests under ThreadSanitizer (ctest label `tsan`, opt in by
#             naming: see tests/CMakeLists.txt);
#   python    pytest over the installed package (bindings, cffi C ABI, C sample, CLI, tools);
#   lint      ruff and clang-format;
#   tidy      clang-tidy on csrc/ and sdk/ with the checks in .clang-tidy, warnings as errors;
#   aarch64   core + preprocessing kernels cross-built for aarch64 (-Werror) and their tests run
#             under qemu-user (scripts/aarch64_check.sh): the portable path boards take;
#   fuzz      each libFuzzer target for FUZZ_SECONDS (default 25) from its seed corpus.
# Stages can be chosen: scripts/test.sh [--no-setup] [STAGE...]. Every chosen stage runs even
# after a failure; the summary lists each stage's time and result, and the exit status is
# non-zero if any failed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
JOBS=$(nproc)
SETUP=1
ALL=(unit package abi sanitize leak tsan python lint tidy aarch64 fuzz)
STAGES=()
for a in "$@"; do
  case "$a" in
    --no-setup) SETUP=0 ;;
    unit|package|abi|leak|sanitize|tsan|python|lint|tidy|aarch64|fuzz) STAGES+=("$a") ;;
    *) echo "unknown argument: $a (stages: ${ALL[*]})" >&2; exit 2 ;;
  esac
done
[ ${#STAGES[@]} -gt 0 ] || STAGES=("${ALL[@]}")
t_start=$(date +%s)
[ "$SETUP" = 0 ] || "$ROOT/scripts/setup.sh"
t_setup=$(( $(date +%s) - t_start ))

export VASDK_ASSETS=$ROOT/.cache/assets
export OPENBLAS_NUM_THREADS=1
log() { printf '\n\033[1m[test] %s\033[0m\n' "$*"; }

# Sanitizer builds: -O1 with line tables only. Reports keep file:line and function names, and
# the three sanitizer trees (ASan, TSan, fuzz) build in far less time than at -O2 -g, whose
# debug info for nlohmann, Eigen and GoogleTest dominates compile and link.
SAN_FLAGS=(-DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1")

cmake_build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVASDK_ASSETS_DIR="$VASDK_ASSETS" "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}

# The unit tree: -O2 as shipped, line tables only (full -g made its compile ~30% slower, for
# nothing the tests use); sdk/ keeps full debug info for the ABI check.
UNIT_FLAGS=(-DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG")

stage_unit() {
  log "C++ / C API tests (ctest)"
  cmake_build build "${UNIT_FLAGS[@]}"
  ctest --test-dir build --output-on-failure -j "$JOBS"
}

stage_abi() {
  log "ABI check against sdk/abi/libvasdk.abi"
  [ -f build/sdk/libvasdk.so ] || cmake_build build "${UNIT_FLAGS[@]}"
  scripts/abi_check.sh --lib build/sdk/libvasdk.so
}

stage_leak() {
  log "leak check: C sample under LeakSanitizer"
  [ -x build-asan/samples/detect_video ] || asan_build
  scripts/leak_check.sh --frames 20
}

# One clang ASan + UBSan tree serves the sanitize, leak and fuzz stages: the fuzz targets are
# built into it (their core objects carry coverage feedback, which the tests ignore). The test
# programs keep -Og (clang: -O1) here: at -O0 they compiled in half the time but ran 2.3x longer
# (342 against 146 s; their helpers, such as reading a model file, are instrumented too).
ASAN_TREE=(-DVASDK_SANITIZE=address,undefined -DVASDK_BUILD_FUZZERS=ON -DVASDK_FUZZ_FLAGS=
           -DVASDK_BUILD_PYTHON=OFF "${SAN_FLAGS[@]}")
asan_build() { CC=clang CXX=clang++ cmake_build build-asan "${ASAN_TREE[@]}"; }

stage_sanitize() {
  log "C++ / C API tests under ASan + UBSan (clang)"
  asan_build
  # Leak checking on. ORT (dlopen()ed, uninstrumented) reports none; the only suppression is
  # OpenSSL's process-wide state (see scripts/sanitizers/lsan.supp).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  LSAN_OPTIONS="suppressions=$ROOT/scripts/sanitizers/lsan.supp" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$JOBS"
}

stage_tsan() {
  log "multi-threaded tests under TSan (ctest -L tsan)"
  cmake_build build-tsan -DVASDK_SANITIZE=thread -DVASDK_BUILD_SAMPLES=OFF "${SAN_FLAGS[@]}"
  # ignore_noninstrumented_modules and the suppressions: see scripts/sanitizers/tsan.supp.
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$ROOT/scripts/sanitizers/tsan.supp" \
    ctest --test-dir build-tsan -L tsan --output-on-failure -j "$JOBS"
}

stage_package() {
  log "packaging: installed SDK, samples/c against it, wheel contents"
  [ -f build/sdk/libvasdk.so ] || cmake_build build "${UNIT_FLAGS[@]}"
  scripts/package_check.sh build
}

stage_python() {
  log "pytest"
  # The slowest tests are listed, so that a CI log shows where the stage's time goes.
  .venv/bin/python -m pytest -q --durations=15 tests/python
}

stage_lint() {
  log "ruff + clang-format"
  .venv/bin/ruff check .
  git ls-files -- '*.c' '*.h' '*.cpp' | xargs clang-format --dry-run -Werror
}

stage_tidy() {
  log "clang-tidy (csrc/, sdk/)"
  cmake -S "$ROOT" -B build-tidy -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DVASDK_BUILD_TESTS=OFF -DVASDK_BUILD_SAMPLES=OFF -DVASDK_BUILD_PYTHON=OFF \
    -DVASDK_ASSETS_DIR="$VASDK_ASSETS" >/dev/null
  # Checks and WarningsAsErrors come from .clang-tidy; -quiet hides the per-file banner.
  run-clang-tidy -p build-tidy -quiet -j "$JOBS" "$ROOT/(csrc|sdk)/.*\.cpp$" >build-tidy/tidy.log 2>&1 ||
    { grep -E -A4 'error:|warning:' build-tidy/tidy.log | head -120; return 1; }
}

stage_aarch64() {
  log "aarch64: cross-built core and kernels under qemu-user"
  scripts/aarch64_check.sh "$ROOT/build-aarch64"
}

stage_fuzz() {
  log "fuzz: each target ${FUZZ_SECONDS:-25} s, $JOBS at a time"
  scripts/fuzz.sh --seconds "${FUZZ_SECONDS:-25}" --parallel "$JOBS" --build-dir "$ROOT/build-asan"
}

declare -A took result
failed=0
for stage in "${STAGES[@]}"; do
  t0=$(date +%s)
  # A subshell outside any `if`, so that set -e still stops the stage at its first failure.
  set +e
  ( set -euo pipefail; "stage_$stage" )
  rc=$?
  set -e
  if [ "$rc" = 0 ]; then result[$stage]=ok; else result[$stage]=FAILED; failed=1; fi
  took[$stage]=$(( $(date +%s) - t0 ))
done

printf '\n\033[1m[test] summary\033[0m\n'
[ "$SETUP" = 0 ] || printf '  %-9s %5d s\n' setup "$t_setup"
for stage in "${STAGES[@]}"; do printf '  %-9s %5d s  %s\n' "$stage" "${took[$stage]}" "${result[$stage]}"; done
total=$(( $(date +%s) - t_start ))
if [ "$failed" = 0 ]; then
  log "all stages passed in $total s"
else
  log "FAILED stage(s) after $total s"
  exit 1
fi
