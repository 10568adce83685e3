#!/usr/bin/env bash
# Builds and runs the test suite under sanitizers; fails on any report.
#   bash scripts/sanitize.sh [address|thread|all]   (default: all)
# address: AddressSanitizer + UndefinedBehaviorSanitizer (recover disabled, so a report fails the
#          test) over the programs listed below. thread: ThreadSanitizer over the tests that share
#          a model or a thread pool between threads.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
bash scripts/install-deps.sh --test
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# -O1 -g1: the sanitizers need no more, and a translation unit that instantiates every kernel takes
# twice as long to compile at -O2 -g (on a 2-core machine the whole suite under ASan took longer
# than CI allows). Each build compiles only the programs it runs (tests are labelled by program).
flags="-O1 -g1 -fno-omit-frame-pointer"
# ASan + UBSan: the parsers of untrusted files (safetensors, packed models, images), every kernel
# and kernel path, every architecture end to end, tensors, augmentation and the debouncer.
address_programs="tensor_test vote_test augment_test preprocess_test bad_input_test pack_test kernels_test models_parity_test"
# TSan: the programs that share a model, a thread pool or a kernel's rows between threads.
thread_programs="concurrency_test fusion_test kernels_test"
labels() { echo "^($(echo "$1" | tr ' ' '|'))\$"; }
cmake_list() { echo "$1" | tr ' ' ';'; }
if [ "$which" = all ] || [ "$which" = address ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=None -DWASTENET_BUILD_TESTS=ON \
    "-DCMAKE_CXX_FLAGS=$flags -fsanitize=address,undefined -fno-sanitize-recover=all" "-DWASTENET_TEST_PROGRAMS=$(cmake_list "$address_programs")"
  cmake --build build-asan -j"$(nproc)" --target wastenet_test_programs
  # Not EfficientNet-B4..B7 on the portable kernels: 614 of the 961 test-seconds of this run on a
  # 2-core AMD EPYC, for the code the smaller networks run on that path (vector paths run them all).
  ctest --test-dir build-asan --output-on-failure -j"$(nproc)" -L "$(labels "$address_programs")" \
    -E '^portable\.Torchvision/ModelParity\..*/efficientnet_b[4-7]_'
fi
if [ "$which" = all ] || [ "$which" = thread ]; then
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=None -DWASTENET_BUILD_TESTS=ON \
    "-DCMAKE_CXX_FLAGS=$flags -fsanitize=thread" "-DWASTENET_TEST_PROGRAMS=$(cmake_list "$thread_programs")"
  cmake --build build-tsan -j"$(nproc)" --target wastenet_test_programs
  ctest --test-dir build-tsan --output-on-failure -L "$(labels "$thread_programs")"
fi
