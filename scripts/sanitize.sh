#!/usr/bin/env bash
# Builds and runs the test suite under sanitizers; fails on any report.
#   bash scripts/sanitize.sh [address|thread|all]   (default: all)
# address: AddressSanitizer + UndefinedBehaviorSanitizer over every test (recover disabled, so a
#          report fails the test). thread: ThreadSanitizer over the tests that share a model or a
#          thread pool between threads.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
bash scripts/install-deps.sh --test
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
if [ "$which" = all ] || [ "$which" = address ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWASTENET_BUILD_TESTS=ON \
    "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  cmake --build build-asan -j"$(nproc)"
  # AllocationLimit.EveryArchitecture runs EfficientNet-B7 at 1200 px: minutes under ASan, and it
  # measures allocation sizes, which the plain build already checks.
  ctest --test-dir build-asan --output-on-failure -j"$(nproc)" -E "clang_clean|package_consumer|AllocationLimit.EveryArchitecture"
fi
if [ "$which" = all ] || [ "$which" = thread ]; then
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWASTENET_BUILD_TESTS=ON \
    "-DCMAKE_CXX_FLAGS=-fsanitize=thread -fno-omit-frame-pointer"
  cmake --build build-tsan -j"$(nproc)" --target concurrency_test fusion_test kernels_test vote_test
  ctest --test-dir build-tsan --output-on-failure -R "generate_references|SharedModel|BatchedModel|SingleImage|Fusion|ConvKernels|SingleRow|MajorityVote"
fi
