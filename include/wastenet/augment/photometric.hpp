// wastenet/augment/photometric.hpp - lighting, colour, glare, blur, noise and cutout.
//
// Samples are in [0, 255] for uint8 images and in [0, 1] for float images ("full scale" below);
// results are clamped to that range (uint8 results are rounded to nearest).
//
// Standard library only (plus wastenet/image.hpp and error.hpp): needs no model code.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "wastenet/augment/geometry.hpp"
#include "wastenet/augment/random.hpp"
#include "wastenet/error.hpp"
#include "wastenet/image.hpp"

namespace wastenet::augment {

namespace detail {

template <class T>
constexpr double full_scale() {
  return std::is_same_v<T, std::uint8_t> ? 255.0 : 1.0;
}

template <class T>
T clamp_sample(double v) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    return saturate<T>(v);
  } else {
    return static_cast<T>(std::clamp(v, 0.0, 1.0));
  }
}

template <class T, class F>
Image<T> map_samples(const Image<T>& img, F&& f) {
  Image<T> out(img.width(), img.height(), img.channels());
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    std::uint8_t lut[256];  // uint8 has 256 possible inputs: compute each once
    for (int v = 0; v < 256; ++v) lut[v] = clamp_sample<T>(f(static_cast<double>(v)));
    for (std::size_t i = 0; i < img.size(); ++i) out.data()[i] = lut[img.data()[i]];
  } else {
    for (std::size_t i = 0; i < img.size(); ++i) out.data()[i] = clamp_sample<T>(f(static_cast<double>(img.data()[i])));
  }
  return out;
}

inline void require_factor(double f, const char* op) {
  require(std::isfinite(f) && f >= 0, std::string(op) + ": factor must be a finite number >= 0, got " + std::to_string(f));
}

// ITU-R 601 luma, as torchvision's rgb_to_grayscale and PIL's convert("L").
template <class T>
double luma(const T* p) {
  return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

}  // namespace detail

/// Multiplies every sample by `factor` (0 gives black, 1 the original; torchvision's adjust_brightness).
template <class T>
Image<T> adjust_brightness(const Image<T>& img, double factor) {
  detail::require_image(img, "adjust_brightness");
  detail::require_factor(factor, "adjust_brightness");
  return detail::map_samples(img, [&](double v) { return v * factor; });
}

/// Blends with the image's mean grey level (0 gives flat grey, 1 the original; torchvision's
/// adjust_contrast, with the mean of the luma of RGB images).
template <class T>
Image<T> adjust_contrast(const Image<T>& img, double factor) {
  detail::require_image(img, "adjust_contrast");
  detail::require_factor(factor, "adjust_contrast");
  double sum = 0;
  const std::size_t pixels = static_cast<std::size_t>(img.width()) * img.height();
  const int cn = img.channels();
  for (std::size_t i = 0; i < pixels; ++i) {
    const T* p = img.data() + i * cn;
    if (cn == 3) {
      sum += detail::luma(p);
    } else {
      for (int c = 0; c < cn; ++c) sum += p[c] / static_cast<double>(cn);
    }
  }
  const double mean = sum / static_cast<double>(pixels);
  return detail::map_samples(img, [&](double v) { return mean + factor * (v - mean); });
}

/// Blends each pixel with its own grey level (0 gives greyscale, 1 the original, 2 doubles the
/// saturation); RGB images only.
template <class T>
Image<T> adjust_saturation(const Image<T>& img, double factor) {
  detail::require_image(img, "adjust_saturation");
  detail::require_factor(factor, "adjust_saturation");
  detail::require(img.channels() == 3, "adjust_saturation: needs an RGB image, got " + std::to_string(img.channels()) + " channels");
  Image<T> out(img.width(), img.height(), 3);
  const std::size_t pixels = static_cast<std::size_t>(img.width()) * img.height();
  for (std::size_t i = 0; i < pixels; ++i) {
    const T* p = img.data() + 3 * i;
    const double g = detail::luma(p);
    for (int c = 0; c < 3; ++c) out.data()[3 * i + c] = detail::clamp_sample<T>(g + factor * (p[c] - g));
  }
  return out;
}

/// full * gain * (v / full)^gamma: gamma < 1 brightens the shadows, > 1 darkens them.
template <class T>
Image<T> adjust_gamma(const Image<T>& img, double gamma, double gain = 1.0) {
  detail::require_image(img, "adjust_gamma");
  detail::require(std::isfinite(gamma) && gamma > 0, "adjust_gamma: gamma must be > 0, got " + std::to_string(gamma));
  detail::require_factor(gain, "adjust_gamma (gain)");
  const double full = detail::full_scale<T>();
  return detail::map_samples(img, [&](double v) { return full * gain * std::pow(std::max(v, 0.0) / full, gamma); });
}

/// A specular highlight: an ellipse centred at (cx, cy) with radii (rx, ry), all as fractions of the
/// image's width and height, rotated by `degrees`. Each pixel moves towards white by
/// strength * exp(-2 d^2), d being its elliptical distance from the centre (1 on the ellipse).
struct Glare {
  double cx = 0.5, cy = 0.5;
  double rx = 0.2, ry = 0.12;
  double degrees = 0.0;
  double strength = 0.8;  // 0: nothing, 1: white at the centre
};

template <class T>
Image<T> add_glare(const Image<T>& img, const Glare& g) {
  detail::require_image(img, "add_glare");
  detail::require(std::isfinite(g.cx) && std::isfinite(g.cy) && std::isfinite(g.degrees),
                  "add_glare: centre and angle must be finite");
  detail::require(std::isfinite(g.rx) && std::isfinite(g.ry) && g.rx > 0 && g.ry > 0,
                  "add_glare: radii must be > 0, got " + std::to_string(g.rx) + ", " + std::to_string(g.ry));
  detail::require(g.strength >= 0 && g.strength <= 1, "add_glare: strength must be in [0, 1], got " + std::to_string(g.strength));
  const double full = detail::full_scale<T>();
  const double cx = g.cx * (img.width() - 1), cy = g.cy * (img.height() - 1);
  const double rx = g.rx * img.width(), ry = g.ry * img.height();
  const double a = g.degrees * 3.14159265358979323846 / 180.0, ca = std::cos(a), sa = std::sin(a);
  Image<T> out(img.width(), img.height(), img.channels());
  const int cn = img.channels();
  for (int y = 0; y < img.height(); ++y) {
    const T* s = img.row(y);
    T* d = out.row(y);
    for (int x = 0; x < img.width(); ++x) {
      const double u = ((x - cx) * ca + (y - cy) * sa) / rx, v = (-(x - cx) * sa + (y - cy) * ca) / ry;
      const double w = g.strength * std::exp(-2.0 * (u * u + v * v));
      for (int c = 0; c < cn; ++c) {
        const double p = s[x * cn + c];
        d[x * cn + c] = detail::clamp_sample<T>(p + (full - p) * w);
      }
    }
  }
  return out;
}

namespace detail {

// Index under OpenCV's default filter border (BORDER_REFLECT_101: c b | a b c d | c b).
inline int reflect101(int p, int len) {
  if (len == 1) return 0;
  const int period = 2 * len - 2;
  int q = p % period;
  if (q < 0) q += period;
  return q < len ? q : period - q;
}

// Separable convolution with one kernel along x, then along y, in float; uint8 rounds once at the end.
template <class T>
Image<T> convolve_separable(const Image<T>& img, const std::vector<float>& kx, const std::vector<float>& ky) {
  const int w = img.width(), h = img.height(), cn = img.channels();
  const int rx = static_cast<int>(kx.size() / 2), ry = static_cast<int>(ky.size() / 2);
  std::vector<float> tmp(static_cast<std::size_t>(w) * h * cn);
  for (int y = 0; y < h; ++y) {
    const T* s = img.row(y);
    float* t = tmp.data() + static_cast<std::size_t>(y) * w * cn;
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < cn; ++c) {
        float acc = 0;
        for (int k = -rx; k <= rx; ++k) acc += kx[static_cast<std::size_t>(k + rx)] * s[reflect101(x + k, w) * cn + c];
        t[x * cn + c] = acc;
      }
    }
  }
  Image<T> out(w, h, cn);
  for (int y = 0; y < h; ++y) {
    T* d = out.row(y);
    for (int x = 0; x < w * cn; ++x) {
      float acc = 0;
      for (int k = -ry; k <= ry; ++k) {
        acc += ky[static_cast<std::size_t>(k + ry)] * tmp[static_cast<std::size_t>(reflect101(y + k, h)) * w * cn + x];
      }
      d[x] = clamp_sample<T>(acc);
    }
  }
  return out;
}

}  // namespace detail

/// Gaussian blur with standard deviation `sigma` pixels; the kernel spans OpenCV's default size
/// (2 * round(3 sigma) + 1 for uint8, 4 sigma for float), borders reflected (BORDER_REFLECT_101).
template <class T>
Image<T> gaussian_blur(const Image<T>& img, double sigma) {
  detail::require_image(img, "gaussian_blur");
  detail::require(std::isfinite(sigma) && sigma > 0 && sigma <= 100, "gaussian_blur: sigma must be in (0, 100], got " + std::to_string(sigma));
  const int size = static_cast<int>(std::nearbyint(sigma * (std::is_same_v<T, std::uint8_t> ? 3 : 4) * 2 + 1)) | 1;
  std::vector<float> k(static_cast<std::size_t>(size));
  double sum = 0;
  for (int i = 0; i < size; ++i) {
    const double x = i - (size - 1) * 0.5;
    sum += k[static_cast<std::size_t>(i)] = static_cast<float>(std::exp(-x * x / (2 * sigma * sigma)));
  }
  for (float& v : k) v = static_cast<float>(v / sum);
  return detail::convolve_separable(img, k, k);
}

/// Linear motion blur: the mean along a line `length` pixels long at `degrees` (0 is horizontal),
/// borders reflected.
template <class T>
Image<T> motion_blur(const Image<T>& img, int length, double degrees) {
  detail::require_image(img, "motion_blur");
  detail::require(length >= 1 && length <= 255, "motion_blur: length must be from 1 to 255 pixels, got " + std::to_string(length));
  detail::require(std::isfinite(degrees), "motion_blur: the angle must be finite");
  const int size = length | 1, r = size / 2;
  std::vector<float> k(static_cast<std::size_t>(size) * size, 0.f);
  const double a = degrees * 3.14159265358979323846 / 180.0, dx = std::cos(a), dy = -std::sin(a);
  // One sample per pixel of length along the line, each spread bilinearly over the pixels around
  // it: a horizontal or vertical line is exactly a box of `length` pixels.
  for (int i = 0; i < length; ++i) {
    const double t = i - (length - 1) * 0.5;
    const double px = r + t * dx, py = r + t * dy;
    const int x0 = static_cast<int>(std::floor(px)), y0 = static_cast<int>(std::floor(py));
    const double fx = px - x0, fy = py - y0;
    const double ws[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
    const int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
    for (int j = 0; j < 4; ++j) {
      if (xs[j] >= 0 && xs[j] < size && ys[j] >= 0 && ys[j] < size) {
        k[static_cast<std::size_t>(ys[j]) * size + xs[j]] += static_cast<float>(ws[j]);
      }
    }
  }
  double sum = 0;
  for (float v : k) sum += v;
  for (float& v : k) v = static_cast<float>(v / sum);
  // Only the taps on the line: about 2 x length of the size^2 kernel entries are non-zero.
  struct Tap {
    int dx, dy;
    float w;
  };
  std::vector<Tap> taps;
  for (int ky = 0; ky < size; ++ky) {
    for (int kx = 0; kx < size; ++kx) {
      const float v = k[static_cast<std::size_t>(ky) * size + kx];
      if (v != 0.f) taps.push_back({kx - r, ky - r, v});
    }
  }
  const int w = img.width(), h = img.height(), cn = img.channels();
  Image<T> out(w, h, cn);
  std::vector<float> acc(static_cast<std::size_t>(w) * cn);
  for (int y = 0; y < h; ++y) {
    std::fill(acc.begin(), acc.end(), 0.f);
    for (const Tap& t : taps) {
      const T* s = img.row(detail::reflect101(y + t.dy, h));
      for (int x = 0; x < w; ++x) {
        const T* p = s + static_cast<std::size_t>(detail::reflect101(x + t.dx, w)) * cn;
        for (int c = 0; c < cn; ++c) acc[static_cast<std::size_t>(x) * cn + c] += t.w * p[c];
      }
    }
    T* d = out.row(y);
    for (std::size_t i = 0; i < acc.size(); ++i) d[i] = detail::clamp_sample<T>(acc[i]);
  }
  return out;
}

/// Adds independent Gaussian noise with standard deviation `sigma` x full scale to every sample.
template <class T>
Image<T> add_gaussian_noise(const Image<T>& img, double sigma, Rng& rng) {
  detail::require_image(img, "add_gaussian_noise");
  detail::require(std::isfinite(sigma) && sigma >= 0 && sigma <= 1, "add_gaussian_noise: sigma must be in [0, 1] (a fraction of full scale), got " + std::to_string(sigma));
  const double s = sigma * detail::full_scale<T>();
  Image<T> out(img.width(), img.height(), img.channels());
  for (std::size_t i = 0; i < img.size(); ++i) out.data()[i] = detail::clamp_sample<T>(img.data()[i] + s * rng.normal());
  return out;
}

/// Fills the width x height rectangle at (x, y) with `value` (the part inside the image).
template <class T>
Image<T> cutout(const Image<T>& img, int x, int y, int width, int height, double value = 0.0) {
  detail::require_image(img, "cutout");
  detail::require(width >= 0 && height >= 0, "cutout: size must not be negative");
  Image<T> out = img;
  const T v = detail::clamp_sample<T>(value);
  const int x0 = std::max(x, 0), x1 = static_cast<int>(std::min<long long>(img.width(), static_cast<long long>(x) + width));
  const int y0 = std::max(y, 0), y1 = static_cast<int>(std::min<long long>(img.height(), static_cast<long long>(y) + height));
  for (int r = y0; r < y1; ++r) std::fill(out.row(r) + x0 * img.channels(), out.row(r) + x1 * img.channels(), v);
  return out;
}

}  // namespace wastenet::augment
