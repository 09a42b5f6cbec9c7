#!/usr/bin/env bash
# Builds the core (pools, images, tensors, thread pool) and the preprocessing kernels for
# aarch64 with the cross compiler, warnings as errors, and runs their GoogleTest suites under
# qemu-user. On aarch64 the kernels run the NEON horizontal pass (BGR/RGB and NV12) and the
# portable path; the kernel tests compare both with the scalar reference there, and this is the
# check that the x86 intrinsics all have their fallback. qemu checks results, not speed.
# Usage: scripts/aarch64_check.sh [build dir]   (default build-aarch64)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/build-aarch64}
CXX=aarch64-linux-gnu-g++
SYSROOT=/usr/aarch64-linux-gnu
GTEST=/usr/src/googletest/googletest
for tool in "$CXX" qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "aarch64_check: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
[ -f "$GTEST/src/gtest-all.cc" ] || { echo "aarch64_check: $GTEST is missing (apt package googletest)" >&2; exit 1; }
mkdir -p "$OUT"
flags=(-std=c++17 -O2 -Wall -Wextra -Werror -pthread -I"$ROOT/csrc" -I"$ROOT/include")
# gtest is compiled once; the project sources every time.
if [ ! -f "$OUT/gtest.o" ]; then
  "$CXX" -std=c++17 -O2 -pthread -I"$GTEST/include" -I"$GTEST" -c "$GTEST/src/gtest-all.cc" -o "$OUT/gtest.o"
  "$CXX" -std=c++17 -O2 -pthread -I"$GTEST/include" -c "$GTEST/src/gtest_main.cc" -o "$OUT/gtest_main.o"
fi
# The library sources once (two at a time), then each test against their objects.
lib=("$ROOT"/csrc/core/*.cpp "$ROOT/csrc/preprocess/preprocess.cpp" "$ROOT/csrc/preprocess/kernels.cpp")
# kernels.cpp gets the options CMake gives it (csrc/preprocess/CMakeLists.txt).
printf '%s\n' "${lib[@]}" | xargs -P "$(nproc)" -I{} sh -c \
  'src=$1; shift; extra=; case "$src" in */kernels.cpp) extra="-O3 -fno-math-errno -ffp-contract=off";; esac
   exec "$@" $extra -c "$src" -o "'"$OUT"'/$(basename "$(dirname "$src")")_$(basename "$src" .cpp).o"' \
  _ {} "$CXX" "${flags[@]}"
objs=()
for src in "${lib[@]}"; do objs+=("$OUT/$(basename "$(dirname "$src")")_$(basename "$src" .cpp).o"); done
status=0
for t in test_preprocess_kernels test_thread_pool test_pool; do
  echo "[aarch64] $t"
  "$CXX" "${flags[@]}" -I"$GTEST/include" "$ROOT/tests/cpp/$t.cpp" "${objs[@]}" \
    "$OUT/gtest.o" "$OUT/gtest_main.o" -o "$OUT/$t"
  qemu-aarch64 -L "$SYSROOT" "$OUT/$t" --gtest_brief=1 || status=1
done
exit $status
