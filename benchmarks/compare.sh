#!/usr/bin/env bash
# wastenet against ONNX Runtime (CPU, from npm) on the very same torchvision networks and weights.
#
#   bash benchmarks/compare.sh [--models "mobilenet_v3_small mobilenet_v2 efficientnet_b0"]
#                              [--threads "1 2"] [--batch 1] [--size 224] [--runs 50] [--rounds 3]
#                              [--precision fp32|fp16]
#
# Builds wastenet-bench-forward, generates each model's seeded weights with tools/make_reference.py,
# exports them to ONNX with Debian's torch (checking ORT's logits against torchvision's), then for every
# model and thread count runs the two engines in alternation for --rounds rounds of --runs timed runs
# each and prints a Markdown table: both medians (the median of the rounds' medians) and the ratio
# wastenet/ORT (lower is better for wastenet). --precision sets wastenet's precision only: ORT runs
# the FP32 export either way, so `--precision fp16` measures FP16 against ORT's FP32 latency.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models="mobilenet_v3_small mobilenet_v2 efficientnet_b0"
threads="1 2"
batch=1
size=224
runs=50
rounds=3
precision=fp32
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    *) echo "compare: unknown option $1" >&2; exit 2 ;;
  esac
done

build=${WASTENET_BENCH_BUILD_DIR:-$root/build-bench}
work=$build/peers
python=/usr/bin/python3
bash "$root/scripts/install-deps.sh" --test > /dev/null
command -v npm > /dev/null || { sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo; $sudo_cmd apt-get install -y -q npm > /dev/null; }
bash "$root/benchmarks/peers/setup.sh" > /dev/null
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DWASTENET_BUILD_BENCHMARKS=ON -DWASTENET_BUILD_EXAMPLES=OFF > /dev/null
cmake --build "$build" --target wastenet-bench-forward -j"$(nproc)" > /dev/null
mkdir -p "$work"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
json_field() { sed -E "s/.*\"$1\": ?([0-9.eE+-]+).*/\1/"; }

ort_version=$(node -e "console.log(require('$root/benchmarks/peers/node_modules/onnxruntime-node').env.versions.common)")
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; kernels: ${WASTENET_KERNELS:-auto}"
echo "date: $(date -u +%Y-%m-%d); wastenet $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?'); onnxruntime-node $ort_version; g++ $(g++ -dumpfullversion)"
peak=$("$build/benchmarks/wastenet-bench-forward" --peak | sed -nE 's/.*: ([0-9.]+) GFLOP\/s.*/\1/p')
echo "batch $batch, ${size}px, wastenet $precision against ORT fp32; $rounds rounds x $runs runs per engine, alternating; medians in ms"
if [ "$precision" = fp32 ]; then
  echo "one core's measured FP32 peak (the kernel path's widest FMA loop, wastenet-bench-forward --peak): ${peak:-?} GFLOP/s; % of peak = wastenet's GFLOP/s / (peak x threads)"
else
  peak=""  # --peak measures FP32 FMAs
  echo "% of peak: not computed for $precision (wastenet-bench-forward --peak measures FP32 FMAs)"
fi
echo
echo "| model | threads | wastenet ms | ORT ms | wastenet/ORT | wastenet img/s | ORT img/s | wastenet GFLOP/s | % of peak |"
echo "|---|---|---|---|---|---|---|---|---|"
for m in $models; do
  prefix=$work/${m}_$size
  if [ ! -f "$prefix.safetensors" ]; then
    $python "$root/tools/make_reference.py" "$work" --only "${m}_$size" > /dev/null
  fi
  if [ ! -f "$prefix.onnx" ]; then
    $python "$root/benchmarks/peers/export_onnx.py" "$prefix.safetensors" "$prefix.onnx" > /dev/null 2>&1
    diff=$(node "$root/benchmarks/peers/ort_bench.js" "$prefix.onnx" --size "$size" --runs 1 --warmup 0 --check "$prefix" | json_field max_abs_diff_vs_torchvision)
    awk -v d="$diff" 'BEGIN { if (d > 1e-3) { print "compare: ORT logits differ from torchvision by " d > "/dev/stderr"; exit 1 } }'
  fi
  for t in $threads; do
    ours=()
    theirs=()
    rates=()
    for _ in $(seq "$rounds"); do
      line=$("$build/benchmarks/wastenet-bench-forward" --json --threads "$t" --batch "$batch" --size "$size" --runs "$runs" --precision "$precision" "$prefix.safetensors")
      ours+=("$(echo "$line" | json_field median_ms)")
      rates+=("$(echo "$line" | json_field gflops)")
      theirs+=("$(node "$root/benchmarks/peers/ort_bench.js" "$prefix.onnx" --threads "$t" --batch "$batch" --size "$size" --runs "$runs" | json_field median_ms)")
    done
    a=$(printf '%s\n' "${ours[@]}" | median)
    b=$(printf '%s\n' "${theirs[@]}" | median)
    g=$(printf '%s\n' "${rates[@]}" | median)
    awk -v m="$m" -v t="$t" -v a="$a" -v b="$b" -v n="$batch" -v g="$g" -v p="${peak:-0}" \
      'BEGIN { printf "| %s | %s | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f | %s |\n", m, t, a, b, a / b, 1000 * n / a, 1000 * n / b, g,
               (p > 0 ? sprintf("%.0f%%", 100 * g / (p * t)) : "?") }'
  done
done
