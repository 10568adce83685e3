// wastenet/augment/geometry.hpp - flips, crops, resizing and affine warps (rotate, translate, zoom).
//
// Warps follow OpenCV's warpAffine arithmetic exactly: source coordinates in fixed point with 1/32
// pixel steps, bilinear weights that sum to 2^15, the same rounding. So a rotation here and
// cv::warpAffine with the same inverse map give the same uint8 pixels, and the geometry conventions
// are Keras' (RandomRotation, RandomTranslation, RandomZoom) and torchvision's (RandomResizedCrop).
// Coordinates: x to the right, y down, pixel centres at integers, the image centre at
// ((width - 1) / 2, (height - 1) / 2).
//
// Standard library only (plus wastenet/image.hpp and error.hpp): needs no model code.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wastenet/augment/random.hpp"
#include "wastenet/error.hpp"
#include "wastenet/image.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WASTENET_AUGMENT_X86 1
#include <immintrin.h>
#else
#define WASTENET_AUGMENT_X86 0
#endif

namespace wastenet::augment {

/// Whether the toolkit may use the CPU's vector instructions (AVX2 on x86-64, chosen at run time).
/// Off when WASTENET_KERNELS=portable is set at start-up; tests switch it to compare both paths,
/// which give bit-identical results.
inline std::atomic<bool>& simd_allowed() {
  static std::atomic<bool> allowed{[] {
    const char* env = std::getenv("WASTENET_KERNELS");
    return !(env && std::string(env) == "portable");
  }()};
  return allowed;
}

/// How pixels outside the source image are filled (Keras' fill_mode; OpenCV's border types).
enum class Fill {
  constant,  // a fixed value (OpenCV BORDER_CONSTANT)
  reflect,   // d c b a | a b c d | d c b a (OpenCV BORDER_REFLECT)
  nearest,   // a a a a | a b c d | d d d d (OpenCV BORDER_REPLICATE)
  wrap,      // a b c d | a b c d | a b c d (OpenCV BORDER_WRAP)
};

enum class Interpolation { nearest, bilinear };

/// Options shared by the warps.
struct WarpOptions {
  Interpolation interpolation = Interpolation::bilinear;
  Fill fill = Fill::constant;
  double fill_value = 0.0;  // for Fill::constant, in the image's units (0..255 for uint8)
};

/// An affine map from output pixel (x, y) to source position: (m[0] x + m[1] y + m[2], m[3] x + m[4] y + m[5]).
struct AffineMap {
  double m[6] = {1, 0, 0, 0, 1, 0};
};

namespace detail {

inline bool simd_enabled() {
#if WASTENET_AUGMENT_X86
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2 && simd_allowed().load(std::memory_order_relaxed);
#else
  return false;
#endif
}

inline void require(bool ok, const std::string& what) {
  if (!ok) throw ArgumentError(what);
}

template <class T>
void require_image(const Image<T>& img, const char* op) {
  require(!img.empty(), std::string(op) + ": the image is empty");
}

// Index of source column/row p (any integer) under a fill mode; -1 means "use the fill value".
inline int border_index(int p, int len, Fill fill) {
  if (p >= 0 && p < len) return p;
  switch (fill) {
    case Fill::constant:
      return -1;
    case Fill::nearest:
      return p < 0 ? 0 : len - 1;
    case Fill::wrap: {
      const int q = p % len;
      return q < 0 ? q + len : q;
    }
    case Fill::reflect: {
      if (len == 1) return 0;
      const int period = 2 * len;
      int q = p % period;
      if (q < 0) q += period;
      return q < len ? q : period - 1 - q;
    }
  }
  return -1;
}

// Floor division by 2^s for negative values too (what an arithmetic right shift does).
constexpr std::int64_t floor_shift(std::int64_t v, int s) noexcept {
  return v >= 0 ? (v >> s) : -((-v - 1) >> s) - 1;
}

template <class T>
T saturate(double v) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    const double r = std::nearbyint(v);
    return static_cast<std::uint8_t>(r < 0 ? 0 : (r > 255 ? 255 : r));
  } else {
    return static_cast<T>(v);
  }
}

constexpr int kInterBits = 5;  // 1/32 pixel steps, as OpenCV
constexpr int kTab = 1 << kInterBits;
constexpr int kAbBits = 10;
constexpr double kAbScale = 1 << kAbBits;

// OpenCV's saturate_cast<int>(double) (round half to even), clamped to +-2^30 so that a sum of two
// never overflows; 2^30 in 1/1024 pixel units is a million pixels, far outside any image warped.
inline std::int32_t fixed(double v) {
  constexpr double lim = 1 << 30;
  if (!(v > -lim)) return -(1 << 30);
  if (!(v < lim)) return 1 << 30;
  return static_cast<std::int32_t>(std::nearbyint(v));
}

inline int clamp_short(std::int64_t v) { return static_cast<int>(std::clamp<std::int64_t>(v, -32768, 32767)); }

}  // namespace detail

namespace detail {

// One output row of a warp. CN > 0 is a compile-time channel count (the common 1, 3, 4); CN == 0
// reads it at run time. x0/y0 and adelta/bdelta are OpenCV's fixed-point source coordinates.
template <class T, int CN, bool Bilinear>
void warp_row(const Image<T>& src, T* row, int x_begin, int x_end, std::int32_t x0, std::int32_t y0,
              const std::int32_t* adelta, const std::int32_t* bdelta, const WarpOptions& options, T fill) {
  const int cn = CN > 0 ? CN : src.channels();
  const int sw = src.width(), sh = src.height();
  const std::size_t stride = src.row_stride();
  const T* s = src.data();
  T* d = row + static_cast<std::size_t>(x_begin) * cn;
  for (int x = x_begin; x < x_end; ++x, d += cn) {
    const std::int64_t X = static_cast<std::int64_t>(x0) + adelta[x];
    const std::int64_t Y = static_cast<std::int64_t>(y0) + bdelta[x];
    if constexpr (!Bilinear) {
      const int sx = clamp_short(floor_shift(X, kAbBits));
      const int sy = clamp_short(floor_shift(Y, kAbBits));
      const int bx = border_index(sx, sw, options.fill), by = border_index(sy, sh, options.fill);
      if (bx < 0 || by < 0) {
        for (int c = 0; c < cn; ++c) d[c] = fill;
      } else {
        const T* p = s + static_cast<std::size_t>(by) * stride + static_cast<std::size_t>(bx) * cn;
        for (int c = 0; c < cn; ++c) d[c] = p[c];
      }
    } else {
      const std::int64_t Xf = floor_shift(X, kAbBits - kInterBits);
      const std::int64_t Yf = floor_shift(Y, kAbBits - kInterBits);
      const int sx = clamp_short(floor_shift(Xf, kInterBits));
      const int sy = clamp_short(floor_shift(Yf, kInterBits));
      const int fx = static_cast<int>(Xf & (kTab - 1)), fy = static_cast<int>(Yf & (kTab - 1));
      if (static_cast<unsigned>(sx) < static_cast<unsigned>(sw - 1) && static_cast<unsigned>(sy) < static_cast<unsigned>(sh - 1)) {
        const T* p0 = s + static_cast<std::size_t>(sy) * stride + static_cast<std::size_t>(sx) * cn;
        const T* p1 = p0 + stride;
        for (int c = 0; c < cn; ++c) {
          if constexpr (std::is_same_v<T, std::uint8_t>) {
            // OpenCV's weights are 32 x (32 - fx or fx) x (32 - fy or fy) in 1/2^15 with rounding at
            // bit 15; interpolating x first in 1/32 units and y second with rounding at bit 10 is the
            // same integer, in fewer multiplications.
            const int top = p0[c] * (kTab - fx) + p0[c + cn] * fx;
            const int bottom = p1[c] * (kTab - fx) + p1[c + cn] * fx;
            d[c] = static_cast<T>((top * (kTab - fy) + bottom * fy + 512) >> 10);
          } else {
            const float w00 = (kTab - fx) * (kTab - fy) * (1.f / 1024), w01 = fx * (kTab - fy) * (1.f / 1024);
            const float w10 = (kTab - fx) * fy * (1.f / 1024), w11 = fx * fy * (1.f / 1024);
            d[c] = static_cast<T>(p0[c] * w00 + p0[c + cn] * w01 + p1[c] * w10 + p1[c + cn] * w11);
          }
        }
        continue;
      }
      if (options.fill == Fill::constant && (sx >= sw || sx + 1 < 0 || sy >= sh || sy + 1 < 0)) {
        for (int c = 0; c < cn; ++c) d[c] = fill;
        continue;
      }
      // Near or past a border: each of the four neighbours through the fill mode.
      const int ax = border_index(sx, sw, options.fill), bx = border_index(sx + 1, sw, options.fill);
      const int ay = border_index(sy, sh, options.fill), by = border_index(sy + 1, sh, options.fill);
      auto at = [&](int yy, int xx) -> const T* {
        return (xx < 0 || yy < 0) ? nullptr : s + static_cast<std::size_t>(yy) * stride + static_cast<std::size_t>(xx) * cn;
      };
      const T* p00 = at(ay, ax);
      const T* p01 = at(ay, bx);
      const T* p10 = at(by, ax);
      const T* p11 = at(by, bx);
      const int w00 = (kTab - fx) * (kTab - fy) * 32, w01 = fx * (kTab - fy) * 32;
      const int w10 = (kTab - fx) * fy * 32, w11 = fx * fy * 32;
      for (int c = 0; c < cn; ++c) {
        const T v00 = p00 ? p00[c] : fill, v01 = p01 ? p01[c] : fill, v10 = p10 ? p10[c] : fill, v11 = p11 ? p11[c] : fill;
        if constexpr (std::is_same_v<T, std::uint8_t>) {
          d[c] = static_cast<T>((w00 * v00 + w01 * v01 + w10 * v10 + w11 * v11 + (1 << 14)) >> 15);
        } else {
          d[c] = static_cast<T>(v00 * (w00 * (1.f / 32768)) + v01 * (w01 * (1.f / 32768)) + v10 * (w10 * (1.f / 32768)) +
                                v11 * (w11 * (1.f / 32768)));
        }
      }
    }
  }
}

#if WASTENET_AUGMENT_X86
// Eight RGB pixels at a time where all four neighbours are inside the image (the rest go through
// warp_row): 32-bit gathers fetch each pixel with its right neighbour's first byte, maddubs blends
// along x in 1/32 units and madd along y, with exactly the scalar path's integers.
__attribute__((target("avx2"))) inline void warp_row_rgb8_avx2(const Image<std::uint8_t>& src, std::uint8_t* row,
                                                                int width, std::int32_t x0, std::int32_t y0,
                                                                const std::int32_t* adelta, const std::int32_t* bdelta,
                                                                const WarpOptions& options, std::uint8_t fill) {
  const int sw = src.width(), sh = src.height();
  const int stride = static_cast<int>(src.row_stride());
  const auto* s = reinterpret_cast<const int*>(src.data());
  const auto* s_right = reinterpret_cast<const int*>(src.data() + 2);  // p01's three bytes are bytes 1..3
  const auto* s_down = reinterpret_cast<const int*>(src.data() + stride);
  const auto* s_down_right = reinterpret_cast<const int*>(src.data() + stride + 2);
  const __m256i vx0 = _mm256_set1_epi32(x0), vy0 = _mm256_set1_epi32(y0);
  const __m256i m31 = _mm256_set1_epi32(31), m24 = _mm256_set1_epi32(0x00FFFFFF), k32 = _mm256_set1_epi32(32);
  const __m256i max_x = _mm256_set1_epi32(sw - 1), max_y = _mm256_set1_epi32(sh - 1), minus1 = _mm256_set1_epi32(-1);
  const __m256i vstride = _mm256_set1_epi32(stride), round = _mm256_set1_epi32(512);
  const __m256i compact = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,  //
                                           0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
  int x = 0;
  // Stop while 8 more pixels fit: each block writes exactly 24 bytes.
  for (; x + 8 <= width; x += 8) {
    __m256i X = _mm256_add_epi32(vx0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(adelta + x)));
    __m256i Y = _mm256_add_epi32(vy0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bdelta + x)));
    X = _mm256_srai_epi32(X, kAbBits - kInterBits);
    Y = _mm256_srai_epi32(Y, kAbBits - kInterBits);
    const __m256i sx = _mm256_srai_epi32(X, kInterBits), sy = _mm256_srai_epi32(Y, kInterBits);
    const __m256i inside = _mm256_and_si256(_mm256_and_si256(_mm256_cmpgt_epi32(sx, minus1), _mm256_cmpgt_epi32(max_x, sx)),
                                            _mm256_and_si256(_mm256_cmpgt_epi32(sy, minus1), _mm256_cmpgt_epi32(max_y, sy)));
    if (_mm256_movemask_epi8(inside) != -1) {
      warp_row<std::uint8_t, 3, true>(src, row, x, x + 8, x0, y0, adelta, bdelta, options, fill);
      continue;
    }
    const __m256i fx = _mm256_and_si256(X, m31), fy = _mm256_and_si256(Y, m31);
    const __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(sy, vstride), _mm256_add_epi32(sx, _mm256_add_epi32(sx, sx)));
    const __m256i g00 = _mm256_and_si256(_mm256_i32gather_epi32(s, off, 1), m24);
    const __m256i g01 = _mm256_srli_epi32(_mm256_i32gather_epi32(s_right, off, 1), 8);
    const __m256i g10 = _mm256_and_si256(_mm256_i32gather_epi32(s_down, off, 1), m24);
    const __m256i g11 = _mm256_srli_epi32(_mm256_i32gather_epi32(s_down_right, off, 1), 8);
    // x weights as byte pairs (32 - fx, fx) for each channel; y weights as 16-bit pairs (32 - fy, fy).
    const __m256i wfx = _mm256_sub_epi32(k32, fx);
    const __m256i wx = _mm256_or_si256(_mm256_mullo_epi32(wfx, _mm256_set1_epi32(0x00010001)),
                                       _mm256_mullo_epi32(fx, _mm256_set1_epi32(0x01000100)));
    const __m256i wy = _mm256_or_si256(_mm256_sub_epi32(k32, fy), _mm256_slli_epi32(fy, 16));
    const __m256i wx_lo = _mm256_unpacklo_epi32(wx, wx), wx_hi = _mm256_unpackhi_epi32(wx, wx);
    const __m256i top_lo = _mm256_maddubs_epi16(_mm256_unpacklo_epi8(g00, g01), wx_lo);  // pixels 0,1 | 4,5
    const __m256i top_hi = _mm256_maddubs_epi16(_mm256_unpackhi_epi8(g00, g01), wx_hi);  // pixels 2,3 | 6,7
    const __m256i bot_lo = _mm256_maddubs_epi16(_mm256_unpacklo_epi8(g10, g11), wx_lo);
    const __m256i bot_hi = _mm256_maddubs_epi16(_mm256_unpackhi_epi8(g10, g11), wx_hi);
    // Lambdas would not inherit the target attribute: the four vertical blends are spelled out.
    const __m256i p0 = _mm256_srai_epi32(
        _mm256_add_epi32(_mm256_madd_epi16(_mm256_unpacklo_epi16(top_lo, bot_lo), _mm256_shuffle_epi32(wy, 0x00)), round), 10);
    const __m256i p1 = _mm256_srai_epi32(
        _mm256_add_epi32(_mm256_madd_epi16(_mm256_unpackhi_epi16(top_lo, bot_lo), _mm256_shuffle_epi32(wy, 0x55)), round), 10);
    const __m256i p2 = _mm256_srai_epi32(
        _mm256_add_epi32(_mm256_madd_epi16(_mm256_unpacklo_epi16(top_hi, bot_hi), _mm256_shuffle_epi32(wy, 0xAA)), round), 10);
    const __m256i p3 = _mm256_srai_epi32(
        _mm256_add_epi32(_mm256_madd_epi16(_mm256_unpackhi_epi16(top_hi, bot_hi), _mm256_shuffle_epi32(wy, 0xFF)), round), 10);
    const __m256i bytes = _mm256_shuffle_epi8(_mm256_packus_epi16(_mm256_packs_epi32(p0, p1), _mm256_packs_epi32(p2, p3)), compact);
    std::uint8_t* d = row + static_cast<std::size_t>(x) * 3;
    const __m128i lo = _mm256_castsi256_si128(bytes), hi = _mm256_extracti128_si256(bytes, 1);
    std::uint8_t tmp[16];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(tmp), lo);
    std::memcpy(d, tmp, 12);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(tmp), hi);
    std::memcpy(d + 12, tmp, 12);
  }
  warp_row<std::uint8_t, 3, true>(src, row, x, width, x0, y0, adelta, bdelta, options, fill);
}
#endif

}  // namespace detail

/// Warps `src` into a width x height image: each output pixel samples the source at map(x, y).
template <class T>
Image<T> warp_affine(const Image<T>& src, const AffineMap& map, int width, int height, const WarpOptions& options = {}) {
  detail::require_image(src, "warp_affine");
  detail::require(width > 0 && height > 0, "warp_affine: output size must be positive, got " + std::to_string(width) +
                                               "x" + std::to_string(height));
  detail::require(src.width() < 32768 && src.height() < 32768 && width < 32768 && height < 32768,
                  "warp_affine: images must be smaller than 32768 pixels on each side (OpenCV's limit too)");
  for (double v : map.m) detail::require(std::isfinite(v), "warp_affine: the map has a non-finite coefficient");
  Image<T> dst(width, height, src.channels());
  const T fill = detail::saturate<T>(options.fill_value);
  const bool bilinear = options.interpolation == Interpolation::bilinear;
  const std::int64_t round_delta = bilinear ? (1 << (detail::kAbBits - detail::kInterBits - 1)) : (1 << (detail::kAbBits - 1));
  std::vector<std::int32_t> adelta(static_cast<std::size_t>(width)), bdelta(static_cast<std::size_t>(width));
  for (int x = 0; x < width; ++x) {
    adelta[static_cast<std::size_t>(x)] = detail::fixed(map.m[0] * x * detail::kAbScale);
    bdelta[static_cast<std::size_t>(x)] = detail::fixed(map.m[3] * x * detail::kAbScale);
  }
  const bool simd = detail::simd_enabled();
  for (int y = 0; y < height; ++y) {
    const std::int32_t x0 = detail::fixed((map.m[1] * y + map.m[2]) * detail::kAbScale) + static_cast<std::int32_t>(round_delta);
    const std::int32_t y0 = detail::fixed((map.m[4] * y + map.m[5]) * detail::kAbScale) + static_cast<std::int32_t>(round_delta);
    T* d = dst.row(y);
    const auto* a = adelta.data();
    const auto* b = bdelta.data();
    if (bilinear) {
      switch (src.channels()) {
        case 1: detail::warp_row<T, 1, true>(src, d, 0, width, x0, y0, a, b, options, fill); break;
        case 3:
#if WASTENET_AUGMENT_X86
          if constexpr (std::is_same_v<T, std::uint8_t>) {
            if (simd) {
              detail::warp_row_rgb8_avx2(src, d, width, x0, y0, a, b, options, fill);
              break;
            }
          }
#endif
          detail::warp_row<T, 3, true>(src, d, 0, width, x0, y0, a, b, options, fill);
          break;
        case 4: detail::warp_row<T, 4, true>(src, d, 0, width, x0, y0, a, b, options, fill); break;
        default: detail::warp_row<T, 0, true>(src, d, 0, width, x0, y0, a, b, options, fill); break;
      }
    } else {
      detail::warp_row<T, 0, false>(src, d, 0, width, x0, y0, a, b, options, fill);
    }
  }
  (void)simd;
  return dst;
}

/// The map that rotates content counter-clockwise by `degrees` about the centre of a width x height
/// image (Keras RandomRotation and OpenCV getRotationMatrix2D conventions), as output -> source.
inline AffineMap rotation_map(int width, int height, double degrees) {
  const double a = degrees * 3.14159265358979323846 / 180.0;
  const double c = std::cos(a), s = std::sin(a);
  const double cx = (width - 1) * 0.5, cy = (height - 1) * 0.5;
  return AffineMap{{c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy}};
}

/// Rotates counter-clockwise by `degrees` (any angle) about the centre; same size.
template <class T>
Image<T> rotate(const Image<T>& img, double degrees, const WarpOptions& options = {}) {
  detail::require_image(img, "rotate");
  detail::require(std::isfinite(degrees), "rotate: the angle must be finite");
  return warp_affine(img, rotation_map(img.width(), img.height(), degrees), img.width(), img.height(), options);
}

/// Moves the content right by dx x width and down by dy x height (fractions in [-1, 1]); same size.
template <class T>
Image<T> translate(const Image<T>& img, double dx, double dy, const WarpOptions& options = {}) {
  detail::require_image(img, "translate");
  detail::require(std::isfinite(dx) && std::isfinite(dy) && std::abs(dx) <= 1 && std::abs(dy) <= 1,
                  "translate: fractions must be in [-1, 1], got " + std::to_string(dx) + ", " + std::to_string(dy));
  const AffineMap map{{1, 0, -dx * img.width(), 0, 1, -dy * img.height()}};
  return warp_affine(img, map, img.width(), img.height(), options);
}

/// Keras RandomZoom semantics: a factor f > 0 zooms out (the content shrinks by 1 / (1 + f)), f < 0
/// zooms in (it grows by 1 / (1 + f)); f must be above -1. Separate factors for width and height.
template <class T>
Image<T> zoom(const Image<T>& img, double width_factor, double height_factor, const WarpOptions& options = {}) {
  detail::require_image(img, "zoom");
  detail::require(std::isfinite(width_factor) && std::isfinite(height_factor) && width_factor > -1 &&
                      height_factor > -1 && width_factor <= 10 && height_factor <= 10,
                  "zoom: factors must be in (-1, 10], got " + std::to_string(width_factor) + ", " +
                      std::to_string(height_factor));
  const double zx = 1 + width_factor, zy = 1 + height_factor;
  const double cx = (img.width() - 1) * 0.5, cy = (img.height() - 1) * 0.5;
  const AffineMap map{{zx, 0, cx * (1 - zx), 0, zy, cy * (1 - zy)}};
  return warp_affine(img, map, img.width(), img.height(), options);
}

template <class T>
Image<T> zoom(const Image<T>& img, double factor, const WarpOptions& options = {}) {
  return zoom(img, factor, factor, options);
}

/// Mirror left-right.
template <class T>
Image<T> flip_horizontal(const Image<T>& img) {
  detail::require_image(img, "flip_horizontal");
  Image<T> out(img.width(), img.height(), img.channels());
  const int cn = img.channels(), w = img.width();
  for (int y = 0; y < img.height(); ++y) {
    const T* s = img.row(y);
    T* d = out.row(y);
    for (int x = 0; x < w; ++x) std::copy(s + (w - 1 - x) * cn, s + (w - x) * cn, d + x * cn);
  }
  return out;
}

/// Mirror top-bottom.
template <class T>
Image<T> flip_vertical(const Image<T>& img) {
  detail::require_image(img, "flip_vertical");
  Image<T> out(img.width(), img.height(), img.channels());
  for (int y = 0; y < img.height(); ++y) std::copy(img.row(img.height() - 1 - y), img.row(img.height() - 1 - y) + img.row_stride(), out.row(y));
  return out;
}

/// The width x height region whose top-left pixel is (x, y); it must lie inside the image.
template <class T>
Image<T> crop(const Image<T>& img, int x, int y, int width, int height) {
  detail::require_image(img, "crop");
  detail::require(width > 0 && height > 0 && x >= 0 && y >= 0 && x <= img.width() - width && y <= img.height() - height,
                  "crop: region " + std::to_string(width) + "x" + std::to_string(height) + " at (" + std::to_string(x) +
                      ", " + std::to_string(y) + ") is not inside the " + std::to_string(img.width()) + "x" +
                      std::to_string(img.height()) + " image");
  Image<T> out(width, height, img.channels());
  for (int r = 0; r < height; ++r) {
    const T* s = img.row(y + r) + static_cast<std::size_t>(x) * img.channels();
    std::copy(s, s + out.row_stride(), out.row(r));
  }
  return out;
}

/// The central width x height region (torchvision's CenterCrop offsets: round((W - w) / 2) with
/// halves to even); not larger than the image.
template <class T>
Image<T> center_crop(const Image<T>& img, int width, int height) {
  detail::require_image(img, "center_crop");
  detail::require(width > 0 && height > 0 && width <= img.width() && height <= img.height(),
                  "center_crop: " + std::to_string(width) + "x" + std::to_string(height) + " does not fit in the " +
                      std::to_string(img.width()) + "x" + std::to_string(img.height()) + " image");
  const int x = static_cast<int>(std::nearbyint((img.width() - width) / 2.0));
  const int y = static_cast<int>(std::nearbyint((img.height() - height) / 2.0));
  return crop(img, x, y, width, height);
}

enum class ResizeFilter {
  bilinear,  // OpenCV INTER_LINEAR: half-pixel centres, edge pixels repeated
  area,      // OpenCV INTER_AREA: the mean over each output pixel's footprint (for shrinking)
};

namespace detail {

// One axis of a resize: for each output index, two source indices and their weights.
struct AxisTaps {
  std::vector<int> i0, i1;
  std::vector<float> w0;  // weight of i0; i1 has 1 - w0
};

inline AxisTaps linear_taps(int in, int out, bool area_mode) {
  AxisTaps t;
  t.i0.resize(static_cast<std::size_t>(out));
  t.i1.resize(static_cast<std::size_t>(out));
  t.w0.resize(static_cast<std::size_t>(out));
  const double scale = static_cast<double>(in) / out, inv = static_cast<double>(out) / in;
  for (int d = 0; d < out; ++d) {
    int sx;
    float fx;
    if (!area_mode) {
      fx = static_cast<float>((d + 0.5) * scale - 0.5);
      sx = static_cast<int>(std::floor(fx));
      fx -= static_cast<float>(sx);
    } else {
      sx = static_cast<int>(std::floor(d * scale));
      fx = static_cast<float>((d + 1) - (sx + 1) * inv);
      fx = fx <= 0 ? 0.f : fx - std::floor(fx);
    }
    if (sx < 0) fx = 0, sx = 0;
    if (sx >= in - 1) fx = 0, sx = in - 1;
    t.i0[static_cast<std::size_t>(d)] = sx;
    t.i1[static_cast<std::size_t>(d)] = std::min(sx + 1, in - 1);
    t.w0[static_cast<std::size_t>(d)] = 1.f - fx;
  }
  return t;
}

#if WASTENET_AUGMENT_X86
// The vertical blend of two uint8 rows into 11+11-bit fixed point, sixteen samples at a time.
__attribute__((target("avx2"))) inline int blend_rows_u8_avx2(const std::uint8_t* r0, const std::uint8_t* r1, int n,
                                                               int w, std::int32_t* out) {
  const __m256i weights = _mm256_set1_epi32((w & 0xFFFF) | ((2048 - w) << 16));
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + i));
    const __m256i lo = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(a, b));  // r0[i], r1[i], r0[i+1], ...
    const __m256i hi = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(a, b));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_madd_epi16(lo, weights));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i + 8), _mm256_madd_epi16(hi, weights));
  }
  return i;
}

// The horizontal blend of a blended row into output samples, eight at a time through gathers.
__attribute__((target("avx2"))) inline int blend_columns_avx2(const std::int32_t* row, const std::int32_t* i0,
                                                              const std::int32_t* i1, const std::int32_t* w, int n,
                                                              std::uint8_t* out) {
  const __m256i k2048 = _mm256_set1_epi32(2048), round = _mm256_set1_epi32(1 << 21);
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256i a = _mm256_i32gather_epi32(row, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(i0 + j)), 4);
    const __m256i b = _mm256_i32gather_epi32(row, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(i1 + j)), 4);
    const __m256i wj = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j));
    const __m256i v = _mm256_srai_epi32(
        _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(a, wj), _mm256_mullo_epi32(b, _mm256_sub_epi32(k2048, wj))), round), 22);
    const __m128i packed = _mm_packus_epi16(_mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)), _mm_setzero_si128());
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + j), packed);
  }
  return j;
}

// One source row blended along x (see resize_bilinear_rgb8_avx2), output pixels [d_begin, d_end):
// the scalar form, for the edges and tails.
inline void resize_hpass_rgb8_scalar(const std::uint8_t* row, std::int32_t* h, const std::int32_t* wx4,
                                     const AxisTaps& tx, int d_begin, int d_end) {
  for (int d = d_begin; d < d_end; ++d) {
    const std::uint8_t* a = row + tx.i0[static_cast<std::size_t>(d)] * 3;
    const std::uint8_t* b = row + tx.i1[static_cast<std::size_t>(d)] * 3;
    const int w = wx4[static_cast<std::size_t>(d) * 4] & 0xFFFF;
    for (int c = 0; c < 3; ++c) h[static_cast<std::size_t>(d) * 4 + c] = a[c] * w + b[c] * (2048 - w);
    h[static_cast<std::size_t>(d) * 4 + 3] = 0;
  }
}

// Four output pixels per 64-bit gather (a pixel and its right neighbour are six consecutive bytes);
// d_begin and d_end are multiples of 4 within the pixels whose 8-byte read stays in the row.
__attribute__((target("avx2"))) inline void resize_hpass_rgb8_avx2(const std::uint8_t* row, std::int32_t* h,
                                                                   const std::int32_t* off, const std::int32_t* wx4,
                                                                   int d_begin, int d_end) {
  const __m256i pairs = _mm256_setr_epi8(0, 3, 1, 4, 2, 5, -1, -1, 8, 11, 9, 12, 10, 13, -1, -1,  //
                                         0, 3, 1, 4, 2, 5, -1, -1, 8, 11, 9, 12, 10, 13, -1, -1);
  for (int d = d_begin; d < d_end; d += 4) {
    const __m128i idx = _mm_loadu_si128(reinterpret_cast<const __m128i*>(off + d));
    const __m256i q = _mm256_shuffle_epi8(_mm256_i32gather_epi64(reinterpret_cast<const long long*>(row), idx, 1), pairs);
    // q holds, per pixel, (a_r b_r a_g b_g a_b b_b 0 0): widen to 16 bits and weight each pair.
    const __m256i p01 = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(q));       // pixels d, d+1
    const __m256i p23 = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(q, 1));  // pixels d+2, d+3
    const std::size_t base = static_cast<std::size_t>(d) * 4;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(h + base),
                        _mm256_madd_epi16(p01, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wx4 + base))));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(h + base + 8),
                        _mm256_madd_epi16(p23, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wx4 + base + 8))));
  }
}

// GCC 12.2's AVX-512 intrinsics initialise a variable from itself (GCC bug 105593), which
// -Wmaybe-uninitialized reports in every caller.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
// The same with AVX-512 VBMI, eight output pixels at a time: where they read from a 64-byte span of
// the row (shrinking by up to about 2.4x), one masked load and one byte permutation place each
// pixel's (a, b) channel pairs, without gathers. `ctrl` holds each block's permutation and `first`
// its first source byte, or -1 where the block spans more (those take the gathers).
__attribute__((target("avx2,avx512f,avx512bw,avx512vbmi"))) inline void resize_hpass_rgb8_vbmi(
    const std::uint8_t* row, int n_in, std::int32_t* h, const std::int32_t* off, const std::int32_t* wx4,
    int d_end, const std::uint8_t* ctrl, const std::int32_t* first) {
  int d = 0;
  for (; d + 8 <= d_end; d += 8) {
    const int b = first[d / 8];
    if (b < 0) {
      resize_hpass_rgb8_avx2(row, h, off, wx4, d, d + 8);
      continue;
    }
    const int avail = std::min(64, n_in - b);
    const __mmask64 in = avail >= 64 ? ~__mmask64{0} : ((__mmask64{1} << avail) - 1);
    const __m512i src = _mm512_maskz_loadu_epi8(in, row + b);
    // Bytes 6 and 7 of each pixel's eight are zero.
    const __m512i q = _mm512_maskz_permutexvar_epi8(0x3F3F3F3F3F3F3F3Full,
                                                    _mm512_loadu_si512(ctrl + static_cast<std::size_t>(d) * 8), src);
    const __m512i lo = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(q));        // pixels d .. d+3
    const __m512i hi = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(q, 1));  // pixels d+4 .. d+7
    const std::size_t base = static_cast<std::size_t>(d) * 4;
    _mm512_storeu_si512(h + base, _mm512_madd_epi16(lo, _mm512_loadu_si512(wx4 + base)));
    _mm512_storeu_si512(h + base + 16, _mm512_madd_epi16(hi, _mm512_loadu_si512(wx4 + base + 16)));
  }
  if (d < d_end) resize_hpass_rgb8_avx2(row, h, off, wx4, d, d_end);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

inline bool cpu_has_avx512_vbmi() {
  static const bool v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vbmi");
  return v;
}

// RGB bilinear resize in the same integers as the scalar path, but columns first (like OpenCV):
// each needed source row is blended along x once, four output pixels per 64-bit gather (a pixel
// and its right neighbour are six consecutive bytes), into rows of int32 padded to four lanes per
// pixel; then pairs of those rows are blended along y eight lanes at a time.
__attribute__((target("avx2"))) inline void resize_bilinear_rgb8_avx2(const Image<std::uint8_t>& img,
                                                                       Image<std::uint8_t>& out, const AxisTaps& tx,
                                                                       const AxisTaps& ty) {
  const int width = out.width(), height = out.height(), n_in = img.width() * 3;
  const std::size_t lanes = static_cast<std::size_t>(width) * 4;
  std::vector<std::int32_t> wx4(lanes), off(static_cast<std::size_t>(width));
  int simd_end = 0;  // pixels [0, simd_end) may read 8 bytes at their offset
  for (int d = 0; d < width; ++d) {
    const int w = static_cast<int>(std::nearbyint(tx.w0[static_cast<std::size_t>(d)] * 2048.f));
    for (int k = 0; k < 4; ++k) wx4[static_cast<std::size_t>(d) * 4 + k] = (w & 0xFFFF) | ((2048 - w) << 16);
    off[static_cast<std::size_t>(d)] = tx.i0[static_cast<std::size_t>(d)] * 3;
    if (off[static_cast<std::size_t>(d)] + 8 <= n_in && tx.i1[static_cast<std::size_t>(d)] == tx.i0[static_cast<std::size_t>(d)] + 1) {
      if (simd_end == d) simd_end = d + 1;
    }
  }
  simd_end &= ~3;
  // Blocks of eight pixels for the VBMI path: their permutations, relative to the block's first byte.
  const bool vbmi = cpu_has_avx512_vbmi();
  std::vector<std::uint8_t> ctrl;
  std::vector<std::int32_t> first;
  if (vbmi) {
    ctrl.assign(static_cast<std::size_t>(simd_end) * 8, 0);
    for (int blk = 0; blk + 8 <= simd_end; blk += 8) {
      const int b = off[static_cast<std::size_t>(blk)];
      const bool fits = off[static_cast<std::size_t>(blk) + 7] + 6 - b <= 64;
      first.push_back(fits ? b : -1);
      for (int k = 0; fits && k < 8; ++k) {
        static const int order[6] = {0, 3, 1, 4, 2, 5};  // a_r b_r a_g b_g a_b b_b
        for (int j = 0; j < 6; ++j) {
          ctrl[static_cast<std::size_t>(blk + k) * 8 + j] =
              static_cast<std::uint8_t>(off[static_cast<std::size_t>(blk + k)] - b + order[j]);
        }
      }
    }
  }
  auto horizontal = [&](const std::uint8_t* row, std::int32_t* h) {
    if (vbmi) {
      resize_hpass_rgb8_vbmi(row, n_in, h, off.data(), wx4.data(), simd_end, ctrl.data(), first.data());
    } else {
      resize_hpass_rgb8_avx2(row, h, off.data(), wx4.data(), 0, simd_end);
    }
    resize_hpass_rgb8_scalar(row, h, wx4.data(), tx, simd_end, width);
  };
  std::vector<std::int32_t> h0(lanes + 8), h1(lanes + 8);
  int have0 = -1, have1 = -1;
  const __m256i round = _mm256_set1_epi32(1 << 21);
  const __m256i compact = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,  //
                                           0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
  for (int y = 0; y < height; ++y) {
    const int s0 = ty.i0[static_cast<std::size_t>(y)], s1 = ty.i1[static_cast<std::size_t>(y)];
    if (s0 == have1) std::swap(h0, h1), std::swap(have0, have1);
    if (s0 != have0) horizontal(img.row(s0), h0.data()), have0 = s0;
    if (s1 != have1) horizontal(img.row(s1), h1.data()), have1 = s1;
    const int wy = static_cast<int>(std::nearbyint(ty.w0[static_cast<std::size_t>(y)] * 2048.f));
    const __m256i vw0 = _mm256_set1_epi32(wy), vw1 = _mm256_set1_epi32(2048 - wy);
    std::uint8_t* d = out.row(y);
    int x = 0;
    for (; x + 8 <= width; x += 8) {  // 8 pixels: four vectors of two pixels each
      __m256i v[4];
      for (int k = 0; k < 4; ++k) {
        const std::size_t base = static_cast<std::size_t>(x + 2 * k) * 4;
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h0.data() + base));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h1.data() + base));
        v[k] = _mm256_srai_epi32(_mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(a, vw0), _mm256_mullo_epi32(b, vw1)), round), 22);
      }
      // packs interleaves 128-bit lanes: (v0 lo, v1 lo | v0 hi, v1 hi) = pixels (0, 2 | 1, 3).
      const __m256i w01 = _mm256_packs_epi32(v[0], v[1]), w23 = _mm256_packs_epi32(v[2], v[3]);
      const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w01, w23), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      // bytes: pixels 0..7 in order, four bytes each; drop every fourth byte.
      const __m256i c = _mm256_shuffle_epi8(bytes, compact);
      std::uint8_t tmp[32];
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tmp), c);
      std::memcpy(d + static_cast<std::size_t>(x) * 3, tmp, 12);
      std::memcpy(d + static_cast<std::size_t>(x) * 3 + 12, tmp + 16, 12);
    }
    for (; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        const std::size_t j = static_cast<std::size_t>(x) * 4 + c;
        d[x * 3 + c] = static_cast<std::uint8_t>((h0[j] * wy + h1[j] * (2048 - wy) + (1 << 21)) >> 22);
      }
    }
  }
}
#endif

template <class T>
Image<T> resize_linear(const Image<T>& img, int width, int height, bool area_mode) {
  const int cn = img.channels();
  const AxisTaps tx = linear_taps(img.width(), width, area_mode), ty = linear_taps(img.height(), height, area_mode);
  Image<T> out(width, height, cn);
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    // OpenCV's fixed point: 11-bit weights per axis, one rounding at the end. The rows are blended
    // first, then the columns; in exact integers the order does not change the result.
    const int n_in = img.width() * cn, n_out = width * cn;
    std::vector<std::int32_t> i0(static_cast<std::size_t>(n_out)), i1(i0.size()), wx(i0.size());
    for (int d = 0; d < width; ++d) {
      const int w = static_cast<int>(std::nearbyint(tx.w0[static_cast<std::size_t>(d)] * 2048.f));
      for (int c = 0; c < cn; ++c) {
        const std::size_t j = static_cast<std::size_t>(d) * cn + c;
        i0[j] = tx.i0[static_cast<std::size_t>(d)] * cn + c;
        i1[j] = tx.i1[static_cast<std::size_t>(d)] * cn + c;
        wx[j] = w;
      }
    }
    const bool simd = simd_enabled();
#if WASTENET_AUGMENT_X86
    if (simd && cn == 3) {
      resize_bilinear_rgb8_avx2(img, out, tx, ty);
      return out;
    }
#endif
    std::vector<std::int32_t> blended(static_cast<std::size_t>(n_in));
    for (int y = 0; y < height; ++y) {
      const std::uint8_t* r0 = img.row(ty.i0[static_cast<std::size_t>(y)]);
      const std::uint8_t* r1 = img.row(ty.i1[static_cast<std::size_t>(y)]);
      const int wy = static_cast<int>(std::nearbyint(ty.w0[static_cast<std::size_t>(y)] * 2048.f));
      int i = 0;
#if WASTENET_AUGMENT_X86
      if (simd) i = blend_rows_u8_avx2(r0, r1, n_in, wy, blended.data());
#endif
      for (; i < n_in; ++i) blended[static_cast<std::size_t>(i)] = r0[i] * wy + r1[i] * (2048 - wy);
      T* d = out.row(y);
      int j = 0;
#if WASTENET_AUGMENT_X86
      if (simd) j = blend_columns_avx2(blended.data(), i0.data(), i1.data(), wx.data(), n_out, d);
#endif
      for (; j < n_out; ++j) {
        const std::size_t k = static_cast<std::size_t>(j);
        d[j] = static_cast<T>((blended[static_cast<std::size_t>(i0[k])] * wx[k] +
                               blended[static_cast<std::size_t>(i1[k])] * (2048 - wx[k]) + (1 << 21)) >> 22);
      }
    }
    (void)simd;
  } else {
    for (int y = 0; y < height; ++y) {
      const T* r0 = img.row(ty.i0[static_cast<std::size_t>(y)]);
      const T* r1 = img.row(ty.i1[static_cast<std::size_t>(y)]);
      const float wy = ty.w0[static_cast<std::size_t>(y)];
      T* d = out.row(y);
      for (int x = 0; x < width; ++x) {
        const std::size_t a = static_cast<std::size_t>(tx.i0[static_cast<std::size_t>(x)]) * cn;
        const std::size_t b = static_cast<std::size_t>(tx.i1[static_cast<std::size_t>(x)]) * cn;
        const float wx = tx.w0[static_cast<std::size_t>(x)];
        for (int c = 0; c < cn; ++c) {
          const float top = r0[a + c] * wx + r0[b + c] * (1 - wx), bottom = r1[a + c] * wx + r1[b + c] * (1 - wx);
          d[static_cast<std::size_t>(x) * cn + c] = static_cast<T>(top * wy + bottom * (1 - wy));
        }
      }
    }
  }
  return out;
}

// Each output pixel is the mean of the source area it covers (both axes shrink or keep size).
struct AreaTap {
  int index;
  double weight;
};

inline std::vector<std::vector<AreaTap>> area_taps(int in, int out) {
  std::vector<std::vector<AreaTap>> taps(static_cast<std::size_t>(out));
  const double scale = static_cast<double>(in) / out;
  for (int d = 0; d < out; ++d) {
    const double lo = d * scale, hi = std::min<double>(in, (d + 1) * scale);
    for (int i = static_cast<int>(std::floor(lo)); i < in && i < hi; ++i) {
      const double w = std::min<double>(i + 1, hi) - std::max<double>(i, lo);
      if (w > 1e-9) taps[static_cast<std::size_t>(d)].push_back({i, w / scale});
    }
  }
  return taps;
}

template <class T>
Image<T> resize_area(const Image<T>& img, int width, int height) {
  const int cn = img.channels();
  const auto tx = area_taps(img.width(), width), ty = area_taps(img.height(), height);
  // Flattened horizontal taps: for each output sample, a run of (source sample, weight).
  std::vector<int> start(static_cast<std::size_t>(width) + 1, 0);
  std::vector<int> src_index;
  std::vector<float> src_weight;
  for (int x = 0; x < width; ++x) {
    for (const AreaTap& t : tx[static_cast<std::size_t>(x)]) {
      src_index.push_back(t.index * cn);
      src_weight.push_back(static_cast<float>(t.weight));
    }
    start[static_cast<std::size_t>(x) + 1] = static_cast<int>(src_index.size());
  }
  Image<T> out(width, height, cn);
  const std::size_t n = static_cast<std::size_t>(width) * cn;
  std::vector<float> acc(n), hrow(n);
  for (int y = 0; y < height; ++y) {
    std::fill(acc.begin(), acc.end(), 0.f);
    for (const AreaTap& vy : ty[static_cast<std::size_t>(y)]) {
      const T* s = img.row(vy.index);
      for (int x = 0; x < width; ++x) {
        for (int c = 0; c < cn; ++c) {
          float v = 0.f;
          for (int k = start[static_cast<std::size_t>(x)]; k < start[static_cast<std::size_t>(x) + 1]; ++k) {
            v += src_weight[static_cast<std::size_t>(k)] * s[src_index[static_cast<std::size_t>(k)] + c];
          }
          hrow[static_cast<std::size_t>(x) * cn + c] = v;
        }
      }
      const float w = static_cast<float>(vy.weight);
      for (std::size_t i = 0; i < n; ++i) acc[i] += w * hrow[i];
    }
    T* d = out.row(y);
    for (std::size_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, std::uint8_t>) {
        d[i] = saturate<T>(std::floor(acc[i] + 0.5f));
      } else {
        d[i] = static_cast<T>(acc[i]);
      }
    }
  }
  return out;
}

}  // namespace detail

/// Resizes to width x height (OpenCV's resize with INTER_LINEAR or INTER_AREA).
template <class T>
Image<T> resize(const Image<T>& img, int width, int height, ResizeFilter filter = ResizeFilter::bilinear) {
  detail::require_image(img, "resize");
  detail::require(width > 0 && height > 0 && width <= (1 << 15) && height <= (1 << 15),
                  "resize: size must be from 1 to 32768, got " + std::to_string(width) + "x" + std::to_string(height));
  if (width == img.width() && height == img.height()) return img;
  if (filter == ResizeFilter::area && width <= img.width() && height <= img.height()) {
    return detail::resize_area(img, width, height);
  }
  return detail::resize_linear(img, width, height, filter == ResizeFilter::area);
}

/// torchvision's RandomResizedCrop: a region covering `scale` of the area with aspect ratio in
/// `ratio` (log-uniform), up to 10 tries, else the central crop clamped to `ratio`; resized
/// bilinearly to width x height.
template <class T>
Image<T> random_resized_crop(const Image<T>& img, int width, int height, Rng& rng,
                             std::pair<double, double> scale = {0.08, 1.0},
                             std::pair<double, double> ratio = {3.0 / 4.0, 4.0 / 3.0}) {
  detail::require_image(img, "random_resized_crop");
  detail::require(scale.first > 0 && scale.first <= scale.second && scale.second <= 1,
                  "random_resized_crop: scale must satisfy 0 < min <= max <= 1");
  detail::require(ratio.first > 0 && ratio.first <= ratio.second && std::isfinite(ratio.second),
                  "random_resized_crop: ratio must satisfy 0 < min <= max");
  const int W = img.width(), H = img.height();
  const double area = static_cast<double>(W) * H;
  const double lr0 = std::log(ratio.first), lr1 = std::log(ratio.second);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * rng.uniform(scale.first, scale.second);
    const double aspect = std::exp(rng.uniform(lr0, lr1));
    const int w = static_cast<int>(std::nearbyint(std::sqrt(target * aspect)));
    const int h = static_cast<int>(std::nearbyint(std::sqrt(target / aspect)));
    if (w > 0 && w <= W && h > 0 && h <= H) {
      const int y = static_cast<int>(rng.integer(0, H - h)), x = static_cast<int>(rng.integer(0, W - w));
      return resize(crop(img, x, y, w, h), width, height);
    }
  }
  const double in_ratio = static_cast<double>(W) / H;
  int w = W, h = H;
  if (in_ratio < ratio.first) {
    h = std::max(1, static_cast<int>(std::nearbyint(w / ratio.first)));
  } else if (in_ratio > ratio.second) {
    w = std::max(1, static_cast<int>(std::nearbyint(h * ratio.second)));
  }
  h = std::min(h, H), w = std::min(w, W);
  return resize(crop(img, (W - w) / 2, (H - h) / 2, w, h), width, height);
}

}  // namespace wastenet::augment
