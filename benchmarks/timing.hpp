// benchmarks/timing.hpp - the timing loop shared by the benchmark tools: a seeded input batch, warm-up
// passes, then the median and 90th percentile of timed forward passes.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <random>
#include <vector>

#include "wastenet/classifier.hpp"

namespace wastenet::bench {

inline double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

inline double percentile90(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, v.size() * 9 / 10)];
}

/// A batch of `n` size x size RGB images with values in [-1, 1], the same for every tool and run
/// (seed 1), so that timings are of the same input.
inline Tensor<float> random_batch(std::size_t n, std::size_t size) {
  Tensor<float> x(Shape4{n, size, size, 3});
  std::mt19937 rng(1);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng() % 2001) / 1000.f - 1.f;
  return x;
}

struct Latency {
  double median_ms = 0, p90_ms = 0;
};

/// Runs `warmup` untimed forward passes of `x`, then times `runs` passes one by one.
inline Latency time_forward(const Classifier& clf, const Tensor<float>& x, long warmup, long runs) {
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(runs));
  for (long i = 0; i < warmup + runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto y = clf.logits(x);
    const double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warmup) ms.push_back(dt);
  }
  return {median_of(ms), percentile90(ms)};
}

}  // namespace wastenet::bench
