// wastenet/augment/pipeline.hpp - random augmentation steps composed into a seeded pipeline.
//
//   using namespace wastenet::augment;
//   Pipeline<std::uint8_t> p;
//   p.add(random_flip<std::uint8_t>(), 1.0)
//    .add(random_rotation<std::uint8_t>(180), 1.0)
//    .add(random_zoom<std::uint8_t>(0.75), 0.5)
//    .add(random_brightness<std::uint8_t>(0.7, 1.3), 0.8);
//   ImageU8 out = p(img, /*seed=*/42, /*stream=*/index_of_image);
//
// A pipeline draws every random number from one Rng made from (seed, stream): the same seed and
// stream give bit-identical output on every run, and apply_batch() gives image i the stream i, so
// its results do not depend on the thread count.
//
// Standard library only (plus the other augment headers): needs no model code.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "wastenet/augment/geometry.hpp"
#include "wastenet/augment/photometric.hpp"
#include "wastenet/augment/random.hpp"
#include "wastenet/error.hpp"
#include "wastenet/image.hpp"

namespace wastenet::augment {

/// One random operation: its name (for reports) and what it does with a generator.
template <class T>
struct Step {
  std::string name;
  std::function<Image<T>(const Image<T>&, Rng&)> apply;
};

template <class T>
class Pipeline {
 public:
  /// Appends `step`, applied with probability `probability` (in [0, 1]).
  Pipeline& add(Step<T> step, double probability = 1.0) {
    detail::require(probability >= 0 && probability <= 1,
                    "Pipeline::add: probability of '" + step.name + "' must be in [0, 1], got " + std::to_string(probability));
    detail::require(static_cast<bool>(step.apply), "Pipeline::add: step '" + step.name + "' has no operation");
    steps_.push_back({std::move(step), probability});
    return *this;
  }

  std::size_t size() const noexcept { return steps_.size(); }
  const std::string& name(std::size_t i) const { return steps_.at(i).step.name; }

  /// Applies the pipeline with the generator for (seed, stream).
  Image<T> operator()(const Image<T>& img, std::uint64_t seed, std::uint64_t stream = 0) const {
    Rng rng(seed, stream);
    return (*this)(img, rng);
  }

  /// Applies the pipeline drawing from `rng` (one draw decides each step, then the step's own draws).
  Image<T> operator()(const Image<T>& img, Rng& rng) const {
    detail::require_image(img, "Pipeline");
    Image<T> cur = img;
    for (const auto& s : steps_) {
      if (rng.uniform() < s.probability) cur = s.step.apply(cur, rng);
    }
    return cur;
  }

 private:
  struct Entry {
    Step<T> step;
    double probability;
  };
  std::vector<Entry> steps_;
};

/// Augments every image of a batch on `threads` threads (0: hardware concurrency); image i uses
/// stream i of `seed`, so the output is the same for every thread count.
template <class T>
std::vector<Image<T>> apply_batch(const Pipeline<T>& pipeline, const std::vector<Image<T>>& images, std::uint64_t seed,
                                  unsigned threads = 0) {
  std::vector<Image<T>> out(images.size());
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(images.size(), 1)));
  std::atomic<std::size_t> next{0};
  std::vector<std::exception_ptr> errors(threads);
  auto work = [&](unsigned t) {
    try {
      for (std::size_t i; (i = next.fetch_add(1)) < images.size();) out[i] = pipeline(images[i], seed, i);
    } catch (...) {
      errors[t] = std::current_exception();
      next.store(images.size());
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return out;
}

// ---- Random steps. Ranges are checked when the step is made, so a bad range fails early. ----

namespace detail {
inline void require_range(double lo, double hi, double min, double max, const std::string& what) {
  require(std::isfinite(lo) && std::isfinite(hi) && lo <= hi && lo >= min && hi <= max,
          what + ": range [" + std::to_string(lo) + ", " + std::to_string(hi) + "] must be ordered and within [" +
              std::to_string(min) + ", " + std::to_string(max) + "]");
}
}  // namespace detail

/// Keras RandomFlip("horizontal_and_vertical"): each direction independently with probability 1/2.
template <class T>
Step<T> random_flip(bool horizontal = true, bool vertical = true) {
  return {"flip", [=](const Image<T>& img, Rng& rng) {
            Image<T> out = img;
            if (horizontal && rng.bernoulli(0.5)) out = flip_horizontal(out);
            if (vertical && rng.bernoulli(0.5)) out = flip_vertical(out);
            return out;
          }};
}

/// Keras RandomRotation(max_degrees / 360): an angle uniform in [-max_degrees, max_degrees].
template <class T>
Step<T> random_rotation(double max_degrees, WarpOptions options = {}) {
  detail::require_range(0, max_degrees, 0, 360, "random_rotation");
  return {"rotation", [=](const Image<T>& img, Rng& rng) { return rotate(img, rng.uniform(-max_degrees, max_degrees), options); }};
}

/// Keras RandomTranslation(fy, fx): shifts uniform in [-fx, fx] x width and [-fy, fy] x height.
template <class T>
Step<T> random_translation(double max_fx, double max_fy, WarpOptions options = {}) {
  detail::require_range(0, max_fx, 0, 1, "random_translation (x)");
  detail::require_range(0, max_fy, 0, 1, "random_translation (y)");
  return {"translation", [=](const Image<T>& img, Rng& rng) {
            const double fx = rng.uniform(-max_fx, max_fx), fy = rng.uniform(-max_fy, max_fy);
            return translate(img, fx, fy, options);
          }};
}

/// Keras RandomZoom(factor): one factor uniform in [-factor, factor] for both axes (0.75 means up
/// to 75% in either direction; must be below 1).
template <class T>
Step<T> random_zoom(double factor, WarpOptions options = {}) {
  detail::require(std::isfinite(factor) && factor >= 0 && factor < 1,
                  "random_zoom: factor must be in [0, 1), got " + std::to_string(factor));
  return {"zoom", [=](const Image<T>& img, Rng& rng) { return zoom(img, rng.uniform(-factor, factor), options); }};
}

template <class T>
Step<T> random_resized_crop(int width, int height, std::pair<double, double> scale = {0.08, 1.0},
                            std::pair<double, double> ratio = {3.0 / 4.0, 4.0 / 3.0}) {
  detail::require(width > 0 && height > 0, "random_resized_crop: output size must be positive");
  detail::require_range(scale.first, scale.second, 1e-6, 1, "random_resized_crop (scale)");
  detail::require_range(ratio.first, ratio.second, 1e-3, 1e3, "random_resized_crop (ratio)");
  return {"resized_crop", [=](const Image<T>& img, Rng& rng) {
            return augment::random_resized_crop(img, width, height, rng, scale, ratio);
          }};
}

/// Brightness factor uniform in [lo, hi] (1 is unchanged).
template <class T>
Step<T> random_brightness(double lo, double hi) {
  detail::require_range(lo, hi, 0, 100, "random_brightness");
  return {"brightness", [=](const Image<T>& img, Rng& rng) { return adjust_brightness(img, rng.uniform(lo, hi)); }};
}

template <class T>
Step<T> random_contrast(double lo, double hi) {
  detail::require_range(lo, hi, 0, 100, "random_contrast");
  return {"contrast", [=](const Image<T>& img, Rng& rng) { return adjust_contrast(img, rng.uniform(lo, hi)); }};
}

template <class T>
Step<T> random_saturation(double lo, double hi) {
  detail::require_range(lo, hi, 0, 100, "random_saturation");
  return {"saturation", [=](const Image<T>& img, Rng& rng) { return adjust_saturation(img, rng.uniform(lo, hi)); }};
}

/// Gamma log-uniform in [lo, hi].
template <class T>
Step<T> random_gamma(double lo, double hi) {
  detail::require_range(lo, hi, 1e-3, 1e3, "random_gamma");
  return {"gamma", [=](const Image<T>& img, Rng& rng) {
            return adjust_gamma(img, std::exp(rng.uniform(std::log(lo), std::log(hi))));
          }};
}

/// A glare of strength uniform in [lo, hi], centred anywhere in the middle 80% of the image, with
/// radii between 10% and 30% of the image and any orientation.
template <class T>
Step<T> random_glare(double lo, double hi) {
  detail::require_range(lo, hi, 0, 1, "random_glare");
  return {"glare", [=](const Image<T>& img, Rng& rng) {
            Glare g;
            g.cx = rng.uniform(0.1, 0.9);
            g.cy = rng.uniform(0.1, 0.9);
            g.rx = rng.uniform(0.1, 0.3);
            g.ry = rng.uniform(0.1, 0.3);
            g.degrees = rng.uniform(0, 180);
            g.strength = rng.uniform(lo, hi);
            return add_glare(img, g);
          }};
}

template <class T>
Step<T> random_gaussian_blur(double sigma_lo, double sigma_hi) {
  detail::require_range(sigma_lo, sigma_hi, 1e-3, 100, "random_gaussian_blur");
  return {"gaussian_blur", [=](const Image<T>& img, Rng& rng) { return gaussian_blur(img, rng.uniform(sigma_lo, sigma_hi)); }};
}

/// Motion blur with a length from 1 to `max_length` pixels and any direction.
template <class T>
Step<T> random_motion_blur(int max_length) {
  detail::require(max_length >= 1 && max_length <= 255, "random_motion_blur: max_length must be from 1 to 255");
  return {"motion_blur", [=](const Image<T>& img, Rng& rng) {
            const int len = static_cast<int>(rng.integer(1, max_length));
            return motion_blur(img, len, rng.uniform(0, 180));
          }};
}

/// Gaussian noise with sigma uniform in [0, max_sigma] x full scale.
template <class T>
Step<T> random_noise(double max_sigma) {
  detail::require_range(0, max_sigma, 0, 1, "random_noise");
  return {"noise", [=](const Image<T>& img, Rng& rng) { return add_gaussian_noise(img, rng.uniform(0, max_sigma), rng); }};
}

/// Cutout: a rectangle of `fraction` of the width and height, anywhere (partly outside allowed),
/// filled with `value`.
template <class T>
Step<T> random_cutout(double fraction, double value = 0.0) {
  detail::require_range(0, fraction, 0, 1, "random_cutout");
  return {"cutout", [=](const Image<T>& img, Rng& rng) {
            const int w = std::max(1, static_cast<int>(std::nearbyint(fraction * img.width())));
            const int h = std::max(1, static_cast<int>(std::nearbyint(fraction * img.height())));
            const int cx = static_cast<int>(rng.integer(0, img.width() - 1)), cy = static_cast<int>(rng.integer(0, img.height() - 1));
            return cutout(img, cx - w / 2, cy - h / 2, w, h, value);
          }};
}

}  // namespace wastenet::augment
