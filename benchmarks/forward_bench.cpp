// wastenet-bench-forward: latency of the forward pass (no decode, no preprocessing).
//
//   wastenet-bench-forward [--threads N] [--batch B] [--size S] [--runs R] [--warmup W] [--json] MODEL.safetensors
//   wastenet-bench-forward --peak
//   wastenet-bench-forward --layers [--threads N] [--runs R] MODEL.safetensors
//
// Prints median and p90 milliseconds per forward pass, images per second, and the arithmetic rate
// reached: GFLOP/s = 2 x multiply-accumulates per image (convolutions: output pixels x output
// channels x input channels per group x kernel taps; other layers: one per weight) x batch / median.
// --peak measures one core's FP32 peak instead: 16 independent chains of AVX-512 FMAs (or, without
// AVX-512, 12 chains of AVX2 FMAs), fastest of 9 runs, so "fraction of peak" is against a measured,
// not a datasheet, rate.
// --layers prints each layer's median time instead (Network::forward's per-step clock), to see
// where a forward pass goes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <vector>

#include <fmt/core.h>

#include "../examples/cli.hpp"
#include "wastenet/classifier.hpp"
#include "wastenet/kernels/dispatch.hpp"
#include "wastenet/nn/conv.hpp"
#include "timing.hpp"

#if WASTENET_X86_KERNELS
#include <immintrin.h>
#endif

namespace {

// Multiply-accumulates of one forward pass per image at the given input size.
double macs_per_image(const wastenet::Network& net, std::size_t size) {
  wastenet::Network::Workspace ws;
  net.plan(wastenet::Shape4{1, size, size, 3}, ws);
  double macs = 0;
  for (std::size_t i = 0; i < net.steps().size(); ++i) {
    const auto* layer = net.steps()[i].layer.get();
    if (const auto* conv = dynamic_cast<const wastenet::Conv2d*>(layer)) {
      const auto& p = conv->params();
      const auto& o = ws.shapes[i];
      macs += static_cast<double>(o.h * o.w * o.c) * static_cast<double>(p.in_channels / p.groups * p.kernel_h * p.kernel_w);
    } else {
      macs += static_cast<double>(layer->parameter_bytes() / sizeof(float));
    }
  }
  return macs;
}

#if WASTENET_X86_KERNELS
__attribute__((target("avx512f,fma"))) double fma_peak_gflops_avx512() {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  constexpr long iters = 20000000;
  const auto t0 = std::chrono::steady_clock::now();
  for (long k = 0; k < iters; ++k) {
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  alignas(64) float sink[16];
  __m512 sum = acc[0];
  for (int i = 1; i < 16; ++i) sum = _mm512_add_ps(sum, acc[i]);
  _mm512_store_ps(sink, sum);
  if (sink[0] == 12345.f) std::printf(" ");  // keeps the loop
  return 2.0 * 16 * 16 * static_cast<double>(iters) / s / 1e9;
}

// 12 chains of 8-lane FMAs: enough to cover two FMA units' latency on AVX2 cores, within 16 ymm.
__attribute__((target("avx2,fma"))) double fma_peak_gflops_avx2() {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  constexpr long iters = 20000000;
  const auto t0 = std::chrono::steady_clock::now();
  for (long k = 0; k < iters; ++k) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  alignas(32) float sink[8];
  __m256 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
  _mm256_store_ps(sink, sum);
  if (sink[0] == 12345.f) std::printf(" ");  // keeps the loop
  return 2.0 * 12 * 8 * static_cast<double>(iters) / s / 1e9;
}
#endif

int peak() {
#if WASTENET_X86_KERNELS
  const auto report = [](const char* isa, double (*measure)()) {
    // The fastest of 9, not the median: a peak is the rate the core reaches when nothing else runs.
    // On a shared VM one compare run's median of 5 came out near 71 GFLOP/s, against 101-102 a
    // minute later, and put every "% of peak" in that table about 40% too high.
    double fastest = 0;
    for (int i = 0; i < 9; ++i) fastest = std::max(fastest, measure());
    fmt::print("FP32 peak, one core, {} FMA: {:.1f} GFLOP/s (fastest of 9)\n", isa, fastest);
    return 0;
  };
  if (wastenet::kernel_path_supported(wastenet::KernelPath::avx512)) return report("AVX-512", fma_peak_gflops_avx512);
  if (wastenet::kernel_path_supported(wastenet::KernelPath::f16c)) return report("AVX2", fma_peak_gflops_avx2);
#endif
  fmt::print("no AVX-512 or AVX2 on this CPU: no peak measured\n");
  return 0;
}

// Per-layer medians of `runs` passes of the network's own forward, which times each step.
int layer_times(const wastenet::Classifier& clf, std::size_t batch, std::size_t size, long warmup, long runs) {
  const wastenet::Network& net = clf.network();
  const auto x = wastenet::bench::random_batch(batch, size);
  wastenet::Network::Workspace ws;
  wastenet::ThreadPool pool(clf.threads());
  const auto& steps = net.steps();
  std::vector<double> seconds;
  std::vector<std::vector<double>> us(steps.size());
  for (long r = 0; r < warmup + runs; ++r) {
    net.forward(x.data(), x.shape(), ws, pool, &seconds);
    if (r >= warmup)
      for (std::size_t i = 0; i < steps.size(); ++i) us[i].push_back(seconds[i] * 1e6);
  }
  std::vector<double> median(steps.size());
  double total = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) total += median[i] = wastenet::bench::median_of(us[i]);
  fmt::print("{} {}px batch {} threads {} ({} kernels, {}): per-layer medians of {} runs\n\n", clf.info().arch, size,
             batch, clf.threads(), wastenet::kernel_path_name(wastenet::kernel_path()),
             wastenet::precision_name(net.precision()), runs);
  fmt::print("| step | layer | output | median us | share |\n|---|---|---|---|---|\n");
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& o = ws.shapes[i];
    // A fused pass's time is its first step's (Network::Workspace::fused).
    const char* note = ws.fused[i] == 2                 ? " (fused: this step and the next two)"
                       : ws.fused[i] == 1               ? " (fused: this step and the next)"
                       : i > 0 && ws.fused[i - 1]       ? " (fused into the step before)"
                       : i > 1 && ws.fused[i - 2] == 2  ? " (fused into the step two before)"
                                                        : "";
    fmt::print("| {} | {}{} | {}x{}x{} | {:.1f} | {:.1f}% |\n", i, steps[i].layer->describe(), note, o.h, o.w, o.c,
               median[i], 100.0 * median[i] / total);
  }
  fmt::print("| | sum of medians | | {:.1f} | |\n", total);
  return 0;
}

int run(int argc, char** argv) {
  const auto args = wastenet::cli::parse(argc, argv, {"threads", "batch", "size", "runs", "warmup", "precision"}, {"json", "peak", "layers"});
  if (args.has("peak")) return peak();
  if (args.positional.size() != 1) throw wastenet::ArgumentError("usage: wastenet-bench-forward [options] MODEL");
  wastenet::ClassifierOptions opts;
  opts.threads = static_cast<std::size_t>(args.get_int("threads", 1, 1, 1024));
  opts.precision = wastenet::parse_precision(args.get("precision", "fp32"));
  const wastenet::Classifier clf(args.positional[0], opts);
  const auto batch = static_cast<std::size_t>(args.get_int("batch", 1, 1, 4096));
  const auto size = static_cast<std::size_t>(args.get_int("size", static_cast<long>(clf.info().input_size), 32, 4096));
  const long runs = args.get_int("runs", 50, 1, 1000000), warmup = args.get_int("warmup", 5, 0, 1000000);
  if (args.has("layers")) return layer_times(clf, batch, size, warmup, runs);
  const auto timing = wastenet::bench::time_forward(clf, wastenet::bench::random_batch(batch, size), warmup, runs);
  const double median = timing.median_ms, p90 = timing.p90_ms;
  const double ips = 1000.0 * static_cast<double>(batch) / median;
  const double gflops = 2.0 * macs_per_image(clf.network(), size) * static_cast<double>(batch) / (median * 1e6);
  if (args.has("json")) {
    fmt::print("{{\"model\": \"{}\", \"arch\": \"{}\", \"threads\": {}, \"batch\": {}, \"size\": {}, \"runs\": {}, "
               "\"median_ms\": {:.4f}, \"p90_ms\": {:.4f}, \"images_per_second\": {:.2f}, \"gflops\": {:.2f}, \"kernels\": \"{}\", "
               "\"precision\": \"{}\"}}\n",
               args.positional[0], clf.info().arch, clf.threads(), batch, size, runs, median, p90, ips, gflops,
               wastenet::kernel_path_name(wastenet::kernel_path()), wastenet::precision_name(opts.precision));
  } else {
    fmt::print("{} {}px batch {} threads {} ({} kernels, {}): median {:.2f} ms, p90 {:.2f} ms, {:.1f} images/s, {:.1f} GFLOP/s ({} runs)\n",
               clf.info().arch, size, batch, clf.threads(), wastenet::kernel_path_name(wastenet::kernel_path()),
               wastenet::precision_name(opts.precision), median, p90, ips, gflops, runs);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return wastenet::cli::run_tool("wastenet-bench-forward", argc, argv, run); }
