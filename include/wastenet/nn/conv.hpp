// wastenet/nn/conv.hpp - Conv2d with batch norm folded in at creation and a fused epilogue.
//
//   ConvParams p{.in_channels = 32, .out_channels = 32, .kernel_h = 3, .kernel_w = 3, .groups = 32};
//   Conv2d dw(p, weight /*[out][in/groups][kh][kw]*/, {}, &bn, Activation{ActKind::relu6});
//
// Creation picks the kernel (1x1 GEMM, depthwise, or general im2col) and packs the weights into
// its layout once; forward() only runs it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wastenet/error.hpp"
#include "wastenet/kernels/convert.hpp"
#include "wastenet/kernels/dispatch.hpp"
#include "wastenet/kernels/generic.hpp"
#include "wastenet/kernels/portable.hpp"
#include "wastenet/kernels/x86/f16_avx512fp16.hpp"
#include "wastenet/kernels/x86/f32_avx512.hpp"
#include "wastenet/nn/activation.hpp"
#include "wastenet/nn/layer.hpp"
#include "wastenet/precision.hpp"

namespace wastenet {

struct ConvParams {
  std::size_t in_channels = 0, out_channels = 0;
  std::size_t kernel_h = 1, kernel_w = 1;
  std::size_t stride_h = 1, stride_w = 1;
  std::size_t pad_h = 0, pad_w = 0;
  std::size_t dilation_h = 1, dilation_w = 1;
  std::size_t groups = 1;
};

/// Inference batch norm: y = (x - mean) / sqrt(var + eps) * weight + bias.
struct BatchNormParams {
  std::vector<float> weight, bias, running_mean, running_var;
  float eps = 1e-5f;
};

/// Folds `bn` into convolution weights [out][...] and bias (in double, so folding adds no error).
inline void fold_batch_norm(std::vector<float>& weight, std::vector<float>& bias, std::size_t out_channels,
                            const BatchNormParams& bn) {
  const std::size_t per_out = weight.size() / out_channels;
  if (bias.empty()) bias.assign(out_channels, 0.f);
  for (std::size_t o = 0; o < out_channels; ++o) {
    const double scale = static_cast<double>(bn.weight[o]) / std::sqrt(static_cast<double>(bn.running_var[o]) + bn.eps);
    for (std::size_t i = 0; i < per_out; ++i) {
      weight[o * per_out + i] = static_cast<float>(weight[o * per_out + i] * scale);
    }
    bias[o] = static_cast<float>((bias[o] - static_cast<double>(bn.running_mean[o])) * scale + bn.bias[o]);
  }
}

class Conv2d final : public Layer {
 public:
  enum class Kind { pointwise, depthwise, general };

  /// `weight` in PyTorch's layout [out][in/groups][kh][kw]; `bias` empty or [out]; `bn` optional.
  /// With Precision::fp16 the folded weights are rounded to binary16 (as a packed FP16 file holds
  /// them); the bias stays FP32 because it is added to the FP32 accumulator.
  Conv2d(const ConvParams& p, std::vector<float> weight, std::vector<float> bias, const BatchNormParams* bn,
         Activation act, Precision precision = Precision::fp32)
      : p_(p), act_(act) {
    if (p.groups == 0 || p.in_channels % p.groups || p.out_channels % p.groups || p.kernel_h == 0 ||
        p.kernel_w == 0 || p.stride_h == 0 || p.stride_w == 0 || p.dilation_h == 0 || p.dilation_w == 0) {
      throw ArgumentError("Conv2d: inconsistent parameters (channels " + std::to_string(p.in_channels) + "->" +
                          std::to_string(p.out_channels) + ", groups " + std::to_string(p.groups) + ")");
    }
    const std::size_t cin_g = p.in_channels / p.groups;
    const std::size_t taps = p.kernel_h * p.kernel_w;
    if (weight.size() != p.out_channels * cin_g * taps) throw ArgumentError("Conv2d: weight size does not match the parameters");
    if (!bias.empty() && bias.size() != p.out_channels) throw ArgumentError("Conv2d: bias size does not match out_channels");
    if (bn) fold_batch_norm(weight, bias, p.out_channels, *bn);
    if (precision == Precision::fp16) kernels::round_to_half(weight.data(), weight.size());
    if (bias.empty()) bias.assign(p.out_channels, 0.f);
    bias_ = std::move(bias);

    path_ = kernel_path();
    precision_ = precision;
    if (taps == 1 && p.groups == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0) {
      kind_ = Kind::pointwise;  // packed [in][out], or column panels for the AVX-512 and AVX2 GEMMs
      std::vector<float> kn(weight.size());
      for (std::size_t o = 0; o < p.out_channels; ++o)
        for (std::size_t i = 0; i < p.in_channels; ++i) kn[i * p.out_channels + o] = weight[o * p.in_channels + i];
      pack_gemm(kn, p.in_channels, p.out_channels);
    } else if (p.groups == p.in_channels && p.out_channels == p.in_channels) {
      kind_ = Kind::depthwise;  // packed [kh][kw][c], c padded to 32 for whole-register loads
      wstride_ = uses_avx512(path_) ? (p.out_channels + 31) / 32 * 32 : p.out_channels;
      packed_.assign(taps * wstride_, 0.f);
      for (std::size_t c = 0; c < p.out_channels; ++c)
        for (std::size_t t = 0; t < taps; ++t) packed_[t * wstride_ + c] = weight[c * taps + t];
      if (precision == Precision::fp16 && path_ == KernelPath::avx512fp16 && uses_fixed_depthwise()) {
        packed_half_.resize(packed_.size());  // the same layout in binary16 (the weights are rounded already)
        for (std::size_t i = 0; i < packed_.size(); ++i) packed_half_[i] = half(packed_[i]).bits;
      }
#if WASTENET_X86_KERNELS
    } else if (p.groups == 1 && uses_avx512(path_) && p.in_channels <= kernels::avx512_direct_max_cin) {
      kind_ = Kind::general;  // the stem: direct convolution, weights [oc/16][kh][kw][cin][16]
      direct_ = true;
      packed_.assign((p.out_channels + 15) / 16 * 16 * taps * p.in_channels, 0.f);
      kernels::pack_direct_weights_avx512(weight.data(), p.out_channels, p.in_channels, p.kernel_h, p.kernel_w,
                                          packed_.data());
#endif
    } else if (p.groups == 1 && (uses_avx512(path_) || path_ == KernelPath::f16c)) {
      kind_ = Kind::general;  // im2col rows [kh][kw][cin] times the GEMM's panels
      const std::size_t K = taps * p.in_channels;
      std::vector<float> kn(weight.size());
      for (std::size_t o = 0; o < p.out_channels; ++o)
        for (std::size_t i = 0; i < p.in_channels; ++i)
          for (std::size_t t = 0; t < taps; ++t) kn[(t * p.in_channels + i) * p.out_channels + o] = weight[(o * p.in_channels + i) * taps + t];
      pack_gemm(kn, K, p.out_channels);
    } else {
      kind_ = Kind::general;  // packed per group [kh][kw][cin_g][cout_g]
      const std::size_t cout_g = p.out_channels / p.groups;
      packed_.resize(weight.size());
      for (std::size_t g = 0; g < p.groups; ++g)
        for (std::size_t oo = 0; oo < cout_g; ++oo)
          for (std::size_t i = 0; i < cin_g; ++i)
            for (std::size_t t = 0; t < taps; ++t) {
              const std::size_t o = g * cout_g + oo;
              packed_[g * taps * cin_g * cout_g + (t * cin_g + i) * cout_g + oo] = weight[(o * cin_g + i) * taps + t];
            }
    }
  }

  Kind kind() const noexcept { return kind_; }
  const ConvParams& params() const noexcept { return p_; }
  const Activation& activation() const noexcept { return act_; }

  Shape4 output_shape(const Shape4& in) const override {
    if (in.c != p_.in_channels) {
      throw ArgumentError("Conv2d: input has " + std::to_string(in.c) + " channels, expected " + std::to_string(p_.in_channels));
    }
    const std::size_t eh = p_.dilation_h * (p_.kernel_h - 1) + 1, ew = p_.dilation_w * (p_.kernel_w - 1) + 1;
    if (in.h + 2 * p_.pad_h < eh || in.w + 2 * p_.pad_w < ew) {
      throw ArgumentError("Conv2d: input " + std::to_string(in.h) + "x" + std::to_string(in.w) + " is smaller than the kernel");
    }
    return {in.n, (in.h + 2 * p_.pad_h - eh) / p_.stride_h + 1, (in.w + 2 * p_.pad_w - ew) / p_.stride_w + 1, p_.out_channels};
  }

  void forward(const float* in, const Shape4& s, float* out, const float* residual, ThreadPool& pool) const override {
    const kernels::ConvGeometry g = geometry(s);
#if WASTENET_X86_KERNELS
    if (uses_avx512(path_) && (kind_ != Kind::general || p_.groups == 1)) {
      forward_avx512(g, in, out, residual, pool);
      return;
    }
#endif
    switch (kind_) {
      case Kind::pointwise: {
        const std::size_t rows = s.n * s.h * s.w;
#if WASTENET_X86_KERNELS
        if (splits_columns_avx2(rows, pool.threads())) {
          forward_columns_avx2(in, out, rows, residual, pool);
          break;
        }
#endif
        pool.parallel_for(rows, [&](std::size_t b, std::size_t e) {
          kernels::f32_gemm_epilogue(path_, in, out, b, e, p_.in_channels, p_.out_channels, packed_.data(), bias_.data(), act_, residual);
        }, 16);
        break;
      }
      case Kind::depthwise:
        pool.parallel_for(g.n * g.oh, [&](std::size_t b, std::size_t e) {
          kernels::f32_dwconv(path_, g, in, out, b, e, packed_.data(), bias_.data(), act_, residual);
        });
        break;
      case Kind::general:
        pool.parallel_for(g.n * g.oh * g.ow, [&](std::size_t b, std::size_t e) {
          kernels::f32_conv_general(path_, g, in, out, b, e, packed_.data(), bias_.data(), act_, residual);
        }, 16);
        break;
    }
  }

  /// FP16: the FP32 kernels run on small blocks widened from binary16 (84 pixels for a 1x1
  /// convolution, a band of output rows for the others), which stay in L1/L2, and each block is
  /// rounded back as soon as it is done: no pass over a whole tensor. Depthwise 3x3 and 5x5
  /// layers on AVX-512 read and write binary16 themselves (widened and rounded in registers). On
  /// the avx512fp16 path, 1x1 and those depthwise layers multiply in binary16 (f16_avx512fp16.hpp).
  void forward_fp16(const half* in, const Shape4& s, half* out, const half* residual, ThreadPool& pool) const override {
    if (kind_ == Kind::pointwise) {
      forward_fp16_pointwise(in, s, out, residual, pool);
    } else if (uses_fixed_depthwise()) {
      const kernels::ConvGeometry g = geometry(s);
      pool.parallel_for(g.n * g.oh, [&](std::size_t b, std::size_t e) { run_depthwise_fixed(g, in, out, b, e, residual); });
    } else {
      forward_fp16_banded(in, s, out, residual, pool);
    }
  }

  /// A 1x1 expansion (the start of every MobileNet and EfficientNet block) or the stem's direct
  /// convolution, followed by a depthwise convolution, runs as one pass over bands of output rows
  /// when the intermediate tensor of an image would not fit in L2: each thread computes only the
  /// rows its band reads into a buffer that stays in cache, and keeps the rows the next band
  /// shares. AVX-512 and AVX2 paths only, where the GEMM's, the direct convolution's and the
  /// depthwise kernel's results do not depend on where a block starts (Eigen's may), so the bits
  /// are those of the two layers run one after the other.
  bool fuses_with(const Layer& next, const Shape4& in) const override {
    const auto* dw = dynamic_cast<const Conv2d*>(&next);
    const bool producer = kind_ == Kind::pointwise || (kind_ == Kind::general && p_.groups == 1);
    const bool row_exact = uses_avx512(path_) || path_ == KernelPath::f16c;
    if (!dw || !producer || dw->kind_ != Kind::depthwise || !row_exact || dw->path_ != path_ ||
        dw->p_.in_channels != p_.out_channels || in.c != p_.in_channels) {
      return false;
    }
    // Every band (and every producer row) then reads at least one real input row, none lying
    // wholly in the padding.
    const std::size_t span = (dw->p_.kernel_h - 1) * dw->p_.dilation_h + 1;
    const std::size_t own_span = (p_.kernel_h - 1) * p_.dilation_h + 1;
    const Shape4 mid = output_shape(in);
    return dw->p_.pad_h < span && p_.pad_h < own_span && mid.h * mid.w * mid.c * sizeof(float) > fuse_min_bytes;
  }
  /// The pass of fuses_with also takes the 1x1 projection after the depthwise layer: each band of
  /// depthwise rows, still in cache, is projected at once, and the depthwise output (in
  /// MobileNetV2, 112x112x32 after the stem and 56x56x96 or 56x56x144 after an expansion) is
  /// never written. The projection's GEMM gives each row the same bits wherever a block starts.
  bool fuses_third(const Layer& next, const Layer& then, const Shape4& in) const override {
    (void)in;
    const auto* dw = dynamic_cast<const Conv2d*>(&next);
    const auto* proj = dynamic_cast<const Conv2d*>(&then);
    return dw && proj && proj->kind_ == Kind::pointwise && proj->path_ == path_ &&
           proj->precision_ == precision_ && proj->p_.in_channels == dw->p_.out_channels;
  }
  void forward_fused(const Layer& next, const Layer* then, const float* in, const Shape4& s, float* out,
                     const float* residual, ThreadPool& pool) const override {
    fused_depthwise(static_cast<const Conv2d&>(next), static_cast<const Conv2d*>(then), in, s, out, residual, pool);
  }
  void forward_fused_fp16(const Layer& next, const Layer* then, const half* in, const Shape4& s, half* out,
                          const half* residual, ThreadPool& pool) const override {
    fused_depthwise(static_cast<const Conv2d&>(next), static_cast<const Conv2d*>(then), in, s, out, residual, pool);
  }

  /// Intermediate tensors (one image, counted in FP32 bytes in either precision, so FP16 networks
  /// fuse the same steps) larger than this are fused away: about a core's L2.
  static constexpr std::size_t fuse_min_bytes = std::size_t{1} << 20;
  /// Intermediate rows a thread holds per band, in bytes: a quarter of L2, beside the band's output.
  static constexpr std::size_t fuse_band_bytes = 256 * 1024;

  std::size_t parameter_bytes() const override {
    return (packed_.size() + bias_.size()) * sizeof(float) + packed_half_.size() * sizeof(std::uint16_t);
  }
  KernelPath kernel_path_used() const noexcept { return path_; }

  std::string describe() const override {
    const char* k = kind_ == Kind::pointwise ? "conv1x1" : kind_ == Kind::depthwise ? "dwconv" : "conv";
    return std::string(k) + " " + std::to_string(p_.kernel_h) + "x" + std::to_string(p_.kernel_w) + "/" +
           std::to_string(p_.stride_h) + " " + std::to_string(p_.in_channels) + "->" + std::to_string(p_.out_channels) +
           " " + activation_name(act_.kind);
  }

 private:
  // Pixels a 1x1 convolution widens from binary16 at a time: whole 7x32 and 12x16 GEMM tiles.
  static constexpr std::size_t fp16_block_rows = 84;
  // Pixels the general convolution gathers (im2col) at a time: whole 7-row GEMM tiles.
  static constexpr std::size_t im2col_block_rows = 49;

  // Per-thread scratch for the FP16 paths and the fused passes; grows to the largest block once.
  template <class T>
  static T* scratch(std::vector<T, AlignedAllocator<T>>& v, std::size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
  }

  void forward_fp16_pointwise(const half* in, const Shape4& s, half* out, const half* residual, ThreadPool& pool) const {
    pool.parallel_for(s.n * s.h * s.w, [&](std::size_t b, std::size_t e) { pointwise_rows(in, out, b, e, residual); },
                      multiplies_in_half() ? kernels::avx512fp16_mr : 16);
  }

  // A 1x1 convolution's output rows [b, e), binary16 in and out (residual and output indexed
  // like the input rows).
  void pointwise_rows(const half* in, half* out, std::size_t b, std::size_t e, const half* residual) const {
    const std::size_t K = p_.in_channels, N = p_.out_channels;
#if WASTENET_X86_KERNELS
    if (multiplies_in_half()) {  // binary16 in, binary16 out: nothing to widen
      return kernels::f16_gemm_10x32_avx512fp16(in, out, b, e, K, N, packed_half_.data(), bias_.data(), act_, residual);
    }
#endif
    static thread_local std::vector<float, AlignedAllocator<float>> a_buf, c_buf;
    constexpr std::size_t block = fp16_block_rows;
    float* a = scratch(a_buf, block * K);
    float* c = scratch(c_buf, block * N);
    for (std::size_t r = b; r < e; r += block) {
      const std::size_t m = std::min(block, e - r);
      kernels::half_to_float(path_, in + r * K, a, m * K);
      pointwise_rows(a, c, 0, m, nullptr);
      kernels::float_to_half(path_, c, residual ? residual + r * N : nullptr, out + r * N, m * N);
    }
  }
  // The same in FP32: forward()'s kernels on the paths that fuse (AVX-512, AVX2), which give each
  // output the same value however the rows are split (and on AVX2, when forward() splits columns).
  void pointwise_rows(const float* in, float* out, std::size_t b, std::size_t e, const float* residual) const {
#if WASTENET_X86_KERNELS
    if (uses_avx512(path_)) return gemm_avx512(in, out, b, e, p_.in_channels, p_.out_channels, residual);
#endif
    kernels::f32_gemm_epilogue(path_, in, out, b, e, p_.in_channels, p_.out_channels, packed_.data(), bias_.data(), act_,
                               residual);
  }

  // The input rows [iy0, iy1) that output rows [oy0, oy1) of one image read (none if the window
  // lies wholly in the padding), and the geometry of that band: input row iy0 + i at band row i,
  // output row oy0 + j at band row j, the band's top padding absorbing the offset.
  struct Band {
    std::size_t iy0, iy1;
    kernels::ConvGeometry g;
  };
  Band band_of(const Shape4& s, const Shape4& o, std::size_t oy0, std::size_t oy1) const {
    const std::ptrdiff_t first = static_cast<std::ptrdiff_t>(oy0 * p_.stride_h) - static_cast<std::ptrdiff_t>(p_.pad_h);
    const std::ptrdiff_t last = static_cast<std::ptrdiff_t>((oy1 - 1) * p_.stride_h + (p_.kernel_h - 1) * p_.dilation_h) -
                                static_cast<std::ptrdiff_t>(p_.pad_h);
    const std::size_t iy0 = static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, first));
    const std::size_t iy1 = std::max(iy0, std::min(s.h, static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, last + 1))));
    const std::size_t top = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(iy0) + static_cast<std::ptrdiff_t>(p_.pad_h) -
                                                     static_cast<std::ptrdiff_t>(oy0 * p_.stride_h));
    return {iy0, iy1, {1, std::max<std::size_t>(1, iy1 - iy0), s.w, s.c, oy1 - oy0, o.w, o.c, p_.kernel_h, p_.kernel_w,
                       p_.stride_h, p_.stride_w, top, p_.pad_w, p_.dilation_h, p_.dilation_w, p_.groups}};
  }

  // Band `bd`'s input rows of image n, widened from binary16 into this thread's scratch (one row of
  // zeros if the window lies wholly in the padding).
  const float* widen_band(const half* in, const Shape4& s, std::size_t n, const Band& bd) const {
    static thread_local std::vector<float, AlignedAllocator<float>> in_buf;
    const std::size_t rows = bd.iy1 - bd.iy0, row_floats = s.w * s.c;
    float* wide = scratch(in_buf, std::max<std::size_t>(1, rows) * row_floats);
    kernels::half_to_float(path_, in + (n * s.h + bd.iy0) * row_floats, wide, rows * row_floats);
    if (rows == 0) std::fill(wide, wide + row_floats, 0.f);
    return wide;
  }

  // A band of output rows of one image needs a band of input rows: widen those, run the FP32
  // kernel on a geometry shifted to the band (its top padding absorbs the offset), round the output.
  void forward_fp16_banded(const half* in, const Shape4& s, half* out, const half* residual, ThreadPool& pool) const {
    const Shape4 o = output_shape(s);
    pool.parallel_for(o.n * o.h, [&](std::size_t b, std::size_t e) {
      static thread_local std::vector<float, AlignedAllocator<float>> out_buf;
      constexpr std::size_t band = 4;  // output rows per step
      for (std::size_t row = b; row < e;) {
        const std::size_t n = row / o.h, oy0 = row % o.h;
        const std::size_t oy1 = std::min({o.h, oy0 + band, oy0 + (e - row)});
        const Band bd = band_of(s, o, oy0, oy1);
        float* fout = scratch(out_buf, (oy1 - oy0) * o.w * o.c);
        run_rows_f32(bd.g, widen_band(in, s, n, bd), fout, oy1 - oy0);
        const std::size_t count = (oy1 - oy0) * o.w * o.c, at = (n * o.h + oy0) * o.w * o.c;
        kernels::float_to_half(path_, fout, residual ? residual + at : nullptr, out + at, count);
        row += oy1 - oy0;
      }
    });
  }

  // fused_depthwise's 1x1 part: `pixels` expanded pixels into `c`, from FP32 or binary16 input;
  // binary16 results are rounded as the unfused layer's FP16 output would be.
  void expand_pixels(const float* a, float* c, std::size_t pixels) const { pointwise_rows(a, c, 0, pixels, nullptr); }
  void expand_pixels(const half* a, float* c, std::size_t pixels) const {
#if WASTENET_X86_KERNELS
    if (multiplies_in_half()) {
      return kernels::f16_gemm_10x32_avx512fp16(a, c, 0, pixels, p_.in_channels, p_.out_channels, packed_half_.data(),
                                               bias_.data(), act_, nullptr);
    }
#endif
    static thread_local std::vector<float, AlignedAllocator<float>> a_buf;
    constexpr std::size_t block = fp16_block_rows;
    const std::size_t K = p_.in_channels, N = p_.out_channels;
    float* wide = scratch(a_buf, block * K);
    for (std::size_t r = 0; r < pixels; r += block) {
      const std::size_t m = std::min(block, pixels - r);
      kernels::half_to_float(path_, a + r * K, wide, m * K);
      pointwise_rows(wide, c + r * N, 0, m, nullptr);
    }
    kernels::round_to_half(c, pixels * N, path_);
  }
  // An FP16 network's layer on the avx512fp16 path with binary16 weights (f16_avx512fp16.hpp): the
  // 1x1 convolutions (the only ones that ask), and the 3x3 and 5x5 depthwise ones (below).
  bool multiplies_in_half() const noexcept { return path_ == KernelPath::avx512fp16 && !packed_half_.empty(); }
  // An FP16 network's undilated 3x3 or 5x5 depthwise layer on the avx512fp16 path.
  bool depthwise_in_half() const noexcept { return kind_ == Kind::depthwise && multiplies_in_half(); }

  // Rows [r0, r1) of image n of this layer's output `mid` into `dst`, in FP32; from binary16 input
  // they are rounded as the unfused layer's FP16 output would be, unless `rounded_later` (the
  // caller converts them to binary16, which rounds the same way). fuses_with has checked that each
  // row reads at least one real input row.
  template <class T>
  void produce_rows(const T* in, const Shape4& s, const Shape4& mid, std::size_t n, std::size_t r0, std::size_t r1,
                    float* dst, bool rounded_later = false) const {
    if (kind_ == Kind::pointwise) return expand_pixels(in + (n * s.h + r0) * s.w * s.c, dst, (r1 - r0) * s.w);
    const Band bd = band_of(s, mid, r0, r1);
    if constexpr (std::is_same_v<T, half>) {
      run_rows_f32(bd.g, widen_band(in, s, n, bd), dst, r1 - r0);
      if (!rounded_later) kernels::round_to_half(dst, (r1 - r0) * mid.w * mid.c, path_);
    } else {
      run_rows_f32(bd.g, in + (n * s.h + bd.iy0) * s.w * s.c, dst, r1 - r0);
    }
  }

  // Rows [r0, r1) of `mid` into a binary16 band, for a depthwise layer that multiplies in binary16:
  // an FP16 1x1 expansion on the avx512fp16 path writes binary16 directly; other producers (the
  // stem) compute in FP32, and converting their values to binary16 is the one rounding.
  void produce_rows(const half* in, const Shape4& s, const Shape4& mid, std::size_t n, std::size_t r0, std::size_t r1,
                    half* dst) const {
    if (kind_ == Kind::pointwise && multiplies_in_half()) {
      return pointwise_rows(in + (n * s.h + r0) * s.w * s.c, dst, 0, (r1 - r0) * s.w, nullptr);
    }
    static thread_local std::vector<float, AlignedAllocator<float>> wide_buf;
    const std::size_t count = (r1 - r0) * mid.w * mid.c;
    float* wide = scratch(wide_buf, count);
    produce_rows(in, s, mid, n, r0, r1, wide, true);
    kernels::float_to_half(path_, wide, nullptr, dst, count);
  }

  // The pass of this layer and `dw` (and `proj`, if given) over bands of output rows; `residual`
  // is the pass's last layer's. The intermediate band is binary16 where the depthwise layer
  // multiplies in binary16, FP32 otherwise (holding binary16 values in FP16 networks).
  template <class T>
  void fused_depthwise(const Conv2d& dw, const Conv2d* proj, const T* in, const Shape4& s, T* out, const T* residual,
                       ThreadPool& pool) const {
    if constexpr (std::is_same_v<T, half>) {
      if (dw.depthwise_in_half()) return fused_pass<T, half>(dw, proj, in, s, out, residual, pool);
    }
    fused_pass<T, float>(dw, proj, in, s, out, residual, pool);
  }
  template <class T, class M>
  void fused_pass(const Conv2d& dw, const Conv2d* proj, const T* in, const Shape4& s, T* out, const T* residual,
                  ThreadPool& pool) const {
    const ConvParams& q = dw.p_;
    const std::size_t N = p_.out_channels;
    const Shape4 mid_shape = output_shape(s);
    const Shape4 o = dw.output_shape(mid_shape);
    const std::size_t span = (q.kernel_h - 1) * q.dilation_h + 1;  // intermediate rows one output row reads
    const std::size_t row_values = mid_shape.w * N;
    // Rows per band counted in FP32 bytes, so a binary16 band has the same rows in half the bytes.
    const std::size_t max_rows = std::max(span, fuse_band_bytes / (row_values * sizeof(float)));
    const std::size_t band = (max_rows - span) / q.stride_h + 1;  // output rows per band
    pool.parallel_for(o.n * o.h, [&](std::size_t b, std::size_t e) {
      static thread_local std::vector<M, AlignedAllocator<M>> mid_buf;
      static thread_local std::vector<float, AlignedAllocator<float>> out_buf;
      static thread_local std::vector<T, AlignedAllocator<T>> dw_buf;  // a band of depthwise rows, when projected
      M* mid = scratch(mid_buf, ((band - 1) * q.stride_h + span) * row_values);
      // mid holds intermediate rows [have0, have1) of image have_n (o.n: none yet).
      std::size_t have_n = o.n, have0 = 0, have1 = 0;
      for (std::size_t row = b; row < e;) {
        const std::size_t n = row / o.h, oy0 = row % o.h;
        const std::size_t oy1 = std::min({o.h, oy0 + band, oy0 + (e - row)});
        const Band bd = dw.band_of(mid_shape, o, oy0, oy1);  // never empty: fuses_with checked the padding
        const std::size_t iy0 = bd.iy0, iy1 = bd.iy1;
        // Rows the previous band already computed move to the front; only the rest are computed.
        std::size_t kept = 0;
        if (have_n == n && have0 <= iy0 && iy0 < have1) {
          kept = std::min(have1, iy1) - iy0;
          std::memmove(mid, mid + (iy0 - have0) * row_values, kept * row_values * sizeof(M));
        }
        if (iy0 + kept < iy1) produce_rows(in, s, mid_shape, n, iy0 + kept, iy1, mid + kept * row_values);
        have_n = n, have0 = iy0, have1 = iy1;
        const kernels::ConvGeometry& g = bd.g;
        const std::size_t pixels = (oy1 - oy0) * o.w, at = (n * o.h + oy0) * o.w;
        // The depthwise rows go to the output, or to a buffer the projection then reads.
        T* dw_out = proj ? scratch(dw_buf, pixels * N) : out + at * N;
        const T* dw_res = !proj && residual ? residual + at * N : nullptr;
        if constexpr (std::is_same_v<M, half>) {
          dw.run_depthwise_fixed(g, mid, dw_out, 0, oy1 - oy0, dw_res);  // binary16 in and out, as unfused
        } else if constexpr (std::is_same_v<T, half>) {
          if (dw.uses_fixed_depthwise()) {  // FP32 rows in, binary16 out, rounded as they are stored
            dw.run_depthwise_fixed(g, mid, dw_out, 0, oy1 - oy0, dw_res);
          } else {
            float* fout = scratch(out_buf, pixels * N);
            dw.run_depthwise_f32(g, mid, fout, 0, oy1 - oy0, nullptr);
            kernels::float_to_half(path_, fout, dw_res, dw_out, pixels * N);
          }
        } else {
          dw.run_depthwise_f32(g, mid, dw_out, 0, oy1 - oy0, dw_res);
        }
        if (proj) {
          const std::size_t pn = proj->p_.out_channels;
          proj->pointwise_rows(dw_out, out + at * pn, 0, pixels, residual ? residual + at * pn : nullptr);
        }
        row += oy1 - oy0;
      }
    });
  }

  // Output rows [0, rows) of a one-image band geometry, any kind but pointwise, no residual.
  void run_rows_f32(const kernels::ConvGeometry& g, const float* in, float* out, std::size_t rows) const {
    if (kind_ == Kind::depthwise) return run_depthwise_f32(g, in, out, 0, rows, nullptr);
#if WASTENET_X86_KERNELS
    if (uses_avx512(path_) && direct_) {
      return kernels::f32_conv_direct_any_avx512(g, in, out, 0, rows, packed_.data(), bias_.data(), act_, nullptr);
    }
    if (uses_avx512(path_) && p_.groups == 1) {
      const std::size_t K = g.kh * g.kw * g.c, pixels = rows * g.ow;
      constexpr std::size_t block = im2col_block_rows;
      static thread_local std::vector<float, AlignedAllocator<float>> col_buf;
      float* col = scratch(col_buf, block * K);
      for (std::size_t p = 0; p < pixels; p += block) {
        const std::size_t m = std::min(block, pixels - p);
        kernels::im2col_rows(g, in, p, m, 0, col);
        gemm_avx512(col, out + p * g.oc, 0, m, K, g.oc, nullptr);
      }
      return;
    }
#endif
    kernels::f32_conv_general(path_, g, in, out, 0, rows * g.ow, packed_.data(), bias_.data(), act_, nullptr);
  }

  void run_depthwise_f32(const kernels::ConvGeometry& g, const float* in, float* out, std::size_t b, std::size_t e,
                         const float* residual) const {
#if WASTENET_X86_KERNELS
    if (uses_fixed_depthwise()) return run_depthwise_fixed(g, in, out, b, e, residual);
    if (uses_avx512(path_)) {
      return kernels::f32_dwconv_avx512(g, in, out, b, e, packed_.data(), wstride_, bias_.data(), act_, residual);
    }
#endif
    kernels::f32_dwconv(path_, g, in, out, b, e, packed_.data(), bias_.data(), act_, residual);
  }

  // Undilated 3x3 and 5x5 depthwise layers on AVX-512 run the kernels with the weights in registers
  // (f32_dwconv_fixed_avx512), which read and write float or binary16 tensors; an FP16 network's
  // on the avx512fp16 path multiplies in binary16 (f16_dwconv_avx512fp16), binary16 in and out.
  bool uses_fixed_depthwise() const noexcept {
    return kind_ == Kind::depthwise && uses_avx512(path_) && p_.dilation_h == 1 && p_.dilation_w == 1 &&
           p_.kernel_h == p_.kernel_w && (p_.kernel_h == 3 || p_.kernel_h == 5);
  }
  template <class InT, class OutT>
  void run_depthwise_fixed(const kernels::ConvGeometry& g, const InT* in, OutT* out, std::size_t b, std::size_t e,
                           const OutT* residual) const {
#if WASTENET_X86_KERNELS
    if constexpr (std::is_same_v<InT, half> && std::is_same_v<OutT, half>) {
      if (depthwise_in_half()) {
        return kernels::f16_dwconv_avx512fp16(g, in, out, b, e, packed_half_.data(), wstride_, bias_.data(), act_, residual);
      }
    }
    if (g.kh == 3) {
      kernels::f32_dwconv_fixed_any_avx512<3, 3>(g, in, out, b, e, packed_.data(), wstride_, bias_.data(), act_, residual);
    } else {
      kernels::f32_dwconv_fixed_any_avx512<5, 5>(g, in, out, b, e, packed_.data(), wstride_, bias_.data(), act_, residual);
    }
#else
    (void)g, (void)in, (void)out, (void)b, (void)e, (void)residual;
#endif
  }

  kernels::ConvGeometry geometry(const Shape4& s) const {
    const Shape4 o = output_shape(s);
    return {s.n, s.h, s.w, s.c, o.h, o.w, o.c, p_.kernel_h, p_.kernel_w, p_.stride_h,
            p_.stride_w, p_.pad_h, p_.pad_w, p_.dilation_h, p_.dilation_w, p_.groups};
  }

  void pack_gemm(const std::vector<float>& kn, std::size_t K, std::size_t N) {
#if WASTENET_X86_KERNELS
    if (uses_avx512(path_)) {
      packed_.assign((N + 31) / 32 * 32 * K, 0.f);
      kernels::pack_gemm_weights_avx512(kn.data(), K, N, packed_.data());
      if (precision_ == Precision::fp16) {  // FP16 networks keep their GEMM weights as binary16
        packed_half_.resize(packed_.size());
        kernels::panels_to_half(packed_.data(), packed_.size(), packed_half_.data());
        decltype(packed_)().swap(packed_);  // release the FP32 panels
      }
      return;
    }
#endif
    kernels::pack_gemm_weights(path_, kn.data(), K, N, packed_);
  }

#if WASTENET_X86_KERNELS
  // The AVX-512 GEMM on this layer's panels, FP32 or binary16.
  void gemm_avx512(const float* a, float* c, std::size_t r0, std::size_t r1, std::size_t K, std::size_t N,
                   const float* residual) const {
    if (!packed_half_.empty()) {
      kernels::f32_gemm_7x32_avx512(a, c, r0, r1, K, N, packed_half_.data(), bias_.data(), act_, residual);
    } else {
      kernels::f32_gemm_7x32_avx512(a, c, r0, r1, K, N, packed_.data(), bias_.data(), act_, residual);
    }
  }

  // On the AVX2 path, a 1x1 convolution with fewer rows than output channels (7x7 maps at batch 1:
  // 49 rows, up to 1280 columns) gives each thread a share of the 16-column weight panels instead
  // of a share of the rows: split by rows, every thread reads all of the weights (0.9 MB for
  // 192->1152, against 38 KB of input). Each output is the same sum over k either way.
  bool splits_columns_avx2(std::size_t rows, std::size_t threads) const {
    return path_ == KernelPath::f16c && threads > 1 && rows < p_.out_channels &&
           p_.out_channels >= threads * kernels::avx2_gemm_nr;
  }
  void forward_columns_avx2(const float* in, float* out, std::size_t rows, const float* residual, ThreadPool& pool) const {
    const std::size_t K = p_.in_channels, N = p_.out_channels;
    pool.parallel_for(N, [&](std::size_t b, std::size_t e) {  // b: a whole panel's first column
      kernels::f32_gemm_6x16_avx2(in, K, out + b, N, rows, K, e - b, packed_.data() + b * K, bias_.data() + b, act_,
                                  residual ? residual + b : nullptr, N);
    }, kernels::avx2_gemm_nr);
  }

  void forward_avx512(const kernels::ConvGeometry& g, const float* in, float* out, const float* residual,
                      ThreadPool& pool) const {
    const std::size_t pixels = g.n * g.oh * g.ow;
    switch (kind_) {
      case Kind::pointwise:
        pool.parallel_for(pixels, [&](std::size_t b, std::size_t e) {
          gemm_avx512(in, out, b, e, g.c, g.oc, residual);
        }, kernels::avx512_gemm_mr);
        break;
      case Kind::depthwise:
        pool.parallel_for(g.n * g.oh, [&](std::size_t b, std::size_t e) { run_depthwise_f32(g, in, out, b, e, residual); });
        break;
      case Kind::general:
        if (direct_) {
          pool.parallel_for(g.n * g.oh, [&](std::size_t b, std::size_t e) {
            kernels::f32_conv_direct_any_avx512(g, in, out, b, e, packed_.data(), bias_.data(), act_, residual);
          });
          break;
        }
        pool.parallel_for(pixels, [&](std::size_t b, std::size_t e) {
          const std::size_t K = g.kh * g.kw * g.c;
          constexpr std::size_t block = im2col_block_rows;
          static thread_local std::vector<float, AlignedAllocator<float>> col_buf;  // no allocation per call
          float* col = scratch(col_buf, block * K);
          for (std::size_t p = b; p < e; p += block) {
            const std::size_t m = std::min(block, e - p);
            kernels::im2col_rows(g, in, p, m, 0, col);
            gemm_avx512(col, out + p * g.oc, 0, m, K, g.oc, residual ? residual + p * g.oc : nullptr);
          }
        }, kernels::avx512_gemm_mr);
        break;
    }
  }
#endif

  KernelPath path_ = KernelPath::portable;
  bool direct_ = false;  // AVX-512 direct convolution for few input channels
  std::size_t wstride_ = 0;
  ConvParams p_;
  Activation act_;
  Kind kind_ = Kind::general;
  Precision precision_ = Precision::fp32;
  std::vector<float, AlignedAllocator<float>> packed_;
  // AVX-512 GEMM panels of FP16 layers; on the avx512fp16 path also the depthwise weights
  std::vector<std::uint16_t, AlignedAllocator<std::uint16_t>> packed_half_;
  std::vector<float> bias_;
};

}  // namespace wastenet
