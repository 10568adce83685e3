#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) and runs each for a fixed
# number of executions from its seed corpus (tests/fuzz/corpus/TARGET, committed), plus the
# regression inputs of past findings (tests/fuzz/regressions/TARGET). New corpus entries go to
# build-fuzz/corpus/TARGET, findings to build-fuzz/findings/.
#   bash scripts/fuzz.sh [--runs N] [TARGET...]     targets: safetensors model image cli (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=1000000
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(safetensors model image cli)
bash scripts/install-deps.sh --test > /dev/null
clang=$(command -v clang++-14 || command -v clang++)
out=build-fuzz
mkdir -p "$out/findings"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude
       -I/usr/include/eigen3 $(pkg-config --cflags stb))
for t in "${targets[@]}"; do
  src=tests/fuzz/fuzz_$t.cpp
  [ -f "$src" ] || { echo "fuzz: no target '$t'" >&2; exit 2; }
  "$clang" "${flags[@]}" "$src" -o "$out/fuzz_$t" $(pkg-config --libs stb) -lz -lpthread
  mkdir -p "$out/corpus/$t"
  seeds=(tests/fuzz/corpus/$t)
  [ -d tests/fuzz/regressions/$t ] && seeds+=(tests/fuzz/regressions/$t)
  echo "== $t: $runs executions"
  start=$(date +%s)
  "./$out/fuzz_$t" -runs="$runs" -max_len=65536 -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/findings/${t}-" "$out/corpus/$t" "${seeds[@]}" 2> "$out/fuzz_$t.log" || {
    tail -40 "$out/fuzz_$t.log"
    echo "fuzz: $t found a problem; the input is in $out/findings/" >&2
    exit 1
  }
  end=$(date +%s)
  grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added" "$out/fuzz_$t.log" | tr '\n' ' '
  echo "cov: $(grep -oE 'cov: [0-9]+' "$out/fuzz_$t.log" | tail -1 | cut -d' ' -f2) edges; $((end - start)) s"
done
