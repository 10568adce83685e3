// wastenet-bench-forward: latency of the forward pass (no decode, no preprocessing).
//
//   wastenet-bench-forward [--threads N] [--batch B] [--size S] [--runs R] [--warmup W] [--json] MODEL.safetensors
//
// Prints median and p90 milliseconds per forward pass and images per second.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <random>
#include <vector>

#include <fmt/core.h>

#include "../examples/cli.hpp"
#include "wastenet/classifier.hpp"

namespace {

int run(int argc, char** argv) {
  const auto args = wastenet::cli::parse(argc, argv, {"threads", "batch", "size", "runs", "warmup"}, {"json"});
  if (args.positional.size() != 1) throw wastenet::ArgumentError("usage: wastenet-bench-forward [options] MODEL");
  wastenet::ClassifierOptions opts;
  opts.threads = static_cast<std::size_t>(args.get_int("threads", 1, 1, 1024));
  const wastenet::Classifier clf(args.positional[0], opts);
  const auto batch = static_cast<std::size_t>(args.get_int("batch", 1, 1, 4096));
  const auto size = static_cast<std::size_t>(args.get_int("size", static_cast<long>(clf.info().input_size), 32, 4096));
  const long runs = args.get_int("runs", 50, 1, 1000000), warmup = args.get_int("warmup", 5, 0, 1000000);
  wastenet::Tensor<float> x(wastenet::Shape4{batch, size, size, 3});
  std::mt19937 rng(1);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng() % 2001) / 1000.f - 1.f;
  std::vector<double> ms;
  for (long i = 0; i < warmup + runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto y = clf.logits(x);
    const double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warmup) ms.push_back(dt);
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2], p90 = ms[std::min(ms.size() - 1, ms.size() * 9 / 10)];
  const double ips = 1000.0 * static_cast<double>(batch) / median;
  if (args.has("json")) {
    fmt::print("{{\"model\": \"{}\", \"arch\": \"{}\", \"threads\": {}, \"batch\": {}, \"size\": {}, \"runs\": {}, "
               "\"median_ms\": {:.4f}, \"p90_ms\": {:.4f}, \"images_per_second\": {:.2f}}}\n",
               args.positional[0], clf.info().arch, clf.threads(), batch, size, runs, median, p90, ips);
  } else {
    fmt::print("{} {}px batch {} threads {}: median {:.2f} ms, p90 {:.2f} ms, {:.1f} images/s ({} runs)\n",
               clf.info().arch, size, batch, clf.threads(), median, p90, ips, runs);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wastenet-bench-forward: %s\n", e.what());
    return 1;
  }
}
