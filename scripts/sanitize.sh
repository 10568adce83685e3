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
# run_under BUILD_DIR "SANITIZER FLAGS" "PROGRAMS" [CTEST ARGS...]: configures BUILD_DIR, builds the
# programs (in parallel, through one aggregate target) and runs their tests (labelled by program).
run_under() {
  local dir=$1 sanitizer=$2 programs=$3
  shift 3
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=None -DWASTENET_BUILD_TESTS=ON \
    "-DCMAKE_CXX_FLAGS=$flags $sanitizer" "-DWASTENET_TEST_PROGRAMS=${programs// /;}"
  cmake --build "$dir" -j"$(nproc)" --target wastenet_test_programs
  ctest --test-dir "$dir" --output-on-failure -L "^(${programs// /|})\$" "$@"
}
if [ "$which" = all ] || [ "$which" = address ]; then
  # Not EfficientNet-B4..B7 on the portable kernels: 614 of the 961 test-seconds of this run on a
  # 2-core AMD EPYC, for the code the smaller networks run on that path (vector paths run them all).
  run_under build-asan "-fsanitize=address,undefined -fno-sanitize-recover=all" "$address_programs" \
    -j"$(nproc)" -E '^portable\.Torchvision/ModelParity\..*/efficientnet_b[4-7]_'
fi
if [ "$which" = all ] || [ "$which" = thread ]; then
  run_under build-tsan "-fsanitize=thread" "$thread_programs"
fi
