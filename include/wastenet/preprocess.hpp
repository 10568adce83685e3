// wastenet/preprocess.hpp - what a model must see in deployment is what it saw in training:
// torchvision's transforms on PIL images, reproduced exactly.
//
// `resize_like_pil` is Pillow's bilinear resampling (convolution with a triangle filter widened by
// the scale factor when shrinking, i.e. antialiased, in 22-bit fixed point, horizontal pass then
// vertical pass with uint8 rounding between them), so it gives the same bytes as
// `PIL.Image.resize(size, BILINEAR)` and `torchvision.transforms.Resize` on PIL images.
//
//   auto input = wastenet::preprocess(img, {224, wastenet::ResizeMode::fit});  // Tensor [1,224,224,3]
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "wastenet/augment/geometry.hpp"
#include "wastenet/error.hpp"
#include "wastenet/image.hpp"
#include "wastenet/tensor.hpp"

namespace wastenet {

enum class ResizeMode {
  fit,   // the whole image to size x size (aspect ratio not kept); torchvision Resize((s, s))
  crop,  // shorter side to int(size / 0.875), then the central size x size; ImageNet's evaluation transform
};

inline ResizeMode parse_resize_mode(const std::string& s) {
  if (s == "fit") return ResizeMode::fit;
  if (s == "crop") return ResizeMode::crop;
  throw ArgumentError("unknown resize mode '" + s + "' (use fit or crop)");
}

namespace detail {

constexpr int pil_precision_bits = 32 - 8 - 2;

/// Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter.
struct PilCoefficients {
  int ksize = 0;
  std::vector<int> bounds;  // (xmin, count) per output pixel
  std::vector<std::int32_t> k;
};

inline PilCoefficients pil_coefficients(int in_size, int out_size) {
  PilCoefficients c;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 1.0 * filterscale;  // bilinear support is 1
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<std::size_t>(out_size) * 2);
  c.k.assign(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(c.ksize), 0);
  std::vector<double> w(static_cast<std::size_t>(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      double t = (x + xmin - center + 0.5) * ss;
      if (t < 0.0) t = -t;
      const double f = t < 1.0 ? 1.0 - t : 0.0;
      w[static_cast<std::size_t>(x)] = f;
      ww += f;
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = ww != 0.0 ? w[static_cast<std::size_t>(x)] / ww : w[static_cast<std::size_t>(x)];
      const double scaled = v * (1 << pil_precision_bits);
      c.k[static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize) + static_cast<std::size_t>(x)] =
          static_cast<std::int32_t>(v < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    c.bounds[static_cast<std::size_t>(xx) * 2] = xmin;
    c.bounds[static_cast<std::size_t>(xx) * 2 + 1] = xmax;
  }
  return c;
}

inline std::uint8_t pil_clip8(std::int64_t v) {
  v >>= pil_precision_bits;
  return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

}  // namespace detail

/// PIL.Image.resize((width, height), BILINEAR) on an 8-bit image, byte for byte.
inline ImageU8 resize_like_pil(const ImageU8& in, int width, int height) {
  if (width <= 0 || height <= 0) throw ArgumentError("resize_like_pil: target size must be positive");
  if (in.empty()) throw ArgumentError("resize_like_pil: empty input image");
  if (width == in.width() && height == in.height()) return in;
  const int C = in.channels();
  const std::int64_t half = std::int64_t{1} << (detail::pil_precision_bits - 1);
  const ImageU8* src = &in;
  ImageU8 tmp;
  if (width != in.width()) {
    const auto c = detail::pil_coefficients(in.width(), width);
    tmp = ImageU8(width, in.height(), C);
    for (int y = 0; y < in.height(); ++y) {
      const std::uint8_t* row = in.row(y);
      std::uint8_t* out = tmp.row(y);
      for (int xx = 0; xx < width; ++xx) {
        const int xmin = c.bounds[static_cast<std::size_t>(xx) * 2], n = c.bounds[static_cast<std::size_t>(xx) * 2 + 1];
        const std::int32_t* k = &c.k[static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize)];
        for (int ch = 0; ch < C; ++ch) {
          std::int64_t ss = half;
          for (int x = 0; x < n; ++x) ss += std::int64_t{row[(xmin + x) * C + ch]} * k[x];
          out[xx * C + ch] = detail::pil_clip8(ss);
        }
      }
    }
    src = &tmp;
  }
  if (height == src->height()) return tmp;
  const auto c = detail::pil_coefficients(src->height(), height);
  ImageU8 out(width, height, C);
  const std::size_t stride = src->row_stride();
  for (int yy = 0; yy < height; ++yy) {
    const int ymin = c.bounds[static_cast<std::size_t>(yy) * 2], n = c.bounds[static_cast<std::size_t>(yy) * 2 + 1];
    const std::int32_t* k = &c.k[static_cast<std::size_t>(yy) * static_cast<std::size_t>(c.ksize)];
    std::uint8_t* o = out.row(yy);
    for (std::size_t i = 0; i < stride; ++i) {
      std::int64_t ss = half;
      for (int y = 0; y < n; ++y) ss += std::int64_t{src->row(ymin + y)[i]} * k[y];
      o[i] = detail::pil_clip8(ss);
    }
  }
  return out;
}

/// The central width x height region (torchvision CenterCrop: offsets rounded half to even).
inline ImageU8 center_crop(const ImageU8& in, int width, int height) { return augment::center_crop(in, width, height); }

/// Resizes an image the way the model was trained to see it (see ResizeMode).
inline ImageU8 resize_for_model(const ImageU8& img, std::size_t size, ResizeMode mode) {
  const int s = static_cast<int>(size);
  if (mode == ResizeMode::fit) return resize_like_pil(img, s, s);
  // torchvision Resize(int): shorter side to `short`, longer side int(short * long / short_in).
  const int short_side = static_cast<int>(static_cast<double>(size) / 0.875);
  const int w = img.width(), h = img.height();
  int nw, nh;
  if (w <= h) {
    nw = short_side;
    nh = static_cast<int>(static_cast<long long>(short_side) * h / w);
  } else {
    nh = short_side;
    nw = static_cast<int>(static_cast<long long>(short_side) * w / h);
  }
  return center_crop(resize_like_pil(img, nw, nh), s, s);
}

/// Normalisation applied after scaling pixels to [0, 1].
struct Normalization {
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

/// Writes (p / 255 - mean) / std of an RGB image into batch slot `n` of an NHWC tensor,
/// in float32 in the same order of operations as ToTensor + Normalize.
inline void image_to_tensor(const ImageU8& img, const Normalization& norm, Tensor<float>& out, std::size_t n) {
  if (img.channels() != 3) throw ArgumentError("image_to_tensor: expected an RGB image");
  const Shape4 s = out.shape();
  if (s.h != static_cast<std::size_t>(img.height()) || s.w != static_cast<std::size_t>(img.width()) || s.c != 3 || n >= s.n ||
      out.layout() != Layout::nhwc) {
    throw ArgumentError("image_to_tensor: image does not fit the tensor");
  }
  float* dst = out.data() + n * s.h * s.w * 3;
  const std::uint8_t* src = img.data();
  for (std::size_t i = 0; i < s.h * s.w; ++i) {
    for (std::size_t c = 0; c < 3; ++c) {
      const float x = static_cast<float>(src[i * 3 + c]) / 255.0f;
      dst[i * 3 + c] = (x - norm.mean[c]) / norm.std[c];
    }
  }
}

}  // namespace wastenet
