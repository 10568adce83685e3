#!/usr/bin/env bash
# FP32 against FP16 in the same build, on the same machine, in alternation.
#
#   bash benchmarks/precision.sh [--models "mobilenet_v3_small mobilenet_v2 efficientnet_b0"]
#                                [--threads "1 2"] [--runs 40] [--rounds 3]
#
# For each model (seeded torchvision weights from tools/make_reference.py, plus the bundled TrashNet
# model), thread count and input size (100% and 75% of the default), runs wastenet-bench-forward
# at batch 1 in FP32 and FP16 alternately for --rounds rounds of --runs timed runs, and prints a
# Markdown table of the medians (of the rounds' medians), p90 and the FP16/FP32 throughput ratio.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models="mobilenet_v3_small mobilenet_v2 efficientnet_b0"
threads="1 2"
runs=40
rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "precision: unknown option $1" >&2; exit 2 ;;
  esac
done
build=${WASTENET_BENCH_BUILD_DIR:-$root/build-bench}
bash "$root/scripts/install-deps.sh" --test > /dev/null
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DWASTENET_BUILD_BENCHMARKS=ON -DWASTENET_BUILD_EXAMPLES=OFF > /dev/null
cmake --build "$build" --target wastenet-bench-forward -j"$(nproc)" > /dev/null
mkdir -p "$build/precision"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
json_field() { sed -E "s/.*\"$1\": ?([0-9.eE+-]+).*/\1/"; }
declare -A file default
for m in $models; do
  default[$m]=224
  /usr/bin/python3 "$root/tools/make_reference.py" "$build/precision" --only "${m}_224" > /dev/null
  file[$m]=$build/precision/${m}_224.safetensors
done
models="$models bundled"
file[bundled]=$root/models/wastenet_trashnet_mobilenet_v2.safetensors
default[bundled]=224
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; kernels: ${WASTENET_KERNELS:-auto}; batch 1"
echo
echo "| model | size | threads | FP32 median ms | FP32 p90 | FP16 median ms | FP16 p90 | FP16 / FP32 images/s |"
echo "|---|---|---|---|---|---|---|---|"
for m in $models; do
  for size in ${default[$m]} $(( ${default[$m]} * 3 / 4 )); do
    for t in $threads; do
      declare -a med32=() med16=() p32=() p16=()
      for ((r = 0; r < rounds; r++)); do
        for p in fp32 fp16; do
          out=$("$build/benchmarks/wastenet-bench-forward" --json --threads "$t" --size "$size" --runs "$runs" --warmup 5 --precision "$p" "${file[$m]}")
          if [ $p = fp32 ]; then med32+=("$(json_field median_ms <<< "$out")"); p32+=("$(json_field p90_ms <<< "$out")")
          else med16+=("$(json_field median_ms <<< "$out")"); p16+=("$(json_field p90_ms <<< "$out")"); fi
        done
      done
      a=$(printf '%s\n' "${med32[@]}" | median); b=$(printf '%s\n' "${med16[@]}" | median)
      pa=$(printf '%s\n' "${p32[@]}" | median); pb=$(printf '%s\n' "${p16[@]}" | median)
      name=$m; [ "$m" = bundled ] && name="bundled (mobilenet_v2, TrashNet)"
      printf '| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f |\n' "$name" "$size" "$t" "$a" "$pa" "$b" "$pb" "$(awk "BEGIN {print $a / $b}")"
    done
  done
done
