// wastenet/augment/random.hpp - the seeded random source of the augmentation toolkit.
//
// xoshiro256** seeded through splitmix64, with uniform and normal draws computed here rather than by
// <random>'s distributions, whose algorithms the standard leaves to each library: the same seed gives
// the same numbers with every compiler and standard library (normal draws use std::log, std::sqrt and
// std::cos, so they are identical wherever the math library is).
#pragma once

#include <cmath>
#include <cstdint>

namespace wastenet::augment {

class Rng {
 public:
  /// A generator for `seed`; `stream` gives independent sequences for the same seed (for example
  /// one per image of a batch, so results do not depend on which thread handles which image).
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0) noexcept {
    std::uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (auto& s : state_) s = splitmix64(x);
  }

  /// 64 uniformly distributed bits.
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, 1), with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [lo, hi] (inclusive; hi >= lo).
  std::int64_t integer(std::int64_t lo, std::int64_t hi) noexcept {
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
    if (span == 0) return static_cast<std::int64_t>(next());  // the whole 64-bit range
    // Rejecting the lowest (2^64 mod span) values leaves a whole number of copies of [0, span).
    const std::uint64_t threshold = (0 - span) % span;
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return lo + static_cast<std::int64_t>(r % span);
    }
  }
  /// True with probability p.
  bool bernoulli(double p) noexcept { return uniform() < p; }
  /// Standard normal (Box-Muller; the second value of each pair is kept for the next call).
  double normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double a = 6.283185307179586 * u2;
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return r * std::cos(a);
  }

 private:
  static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  std::uint64_t state_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace wastenet::augment
