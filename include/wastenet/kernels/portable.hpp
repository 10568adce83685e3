// wastenet/kernels/portable.hpp - the portable FP32 kernels: the specification every fast path
// is tested against. Plain C++ loops the compiler can vectorise, plus Eigen's GEMM.
//
// All activations are NHWC. Each kernel computes a range of output rows so that a ThreadPool
// can split one layer across threads, and applies the fused epilogue
//   out = act(acc + bias) [+ residual]
// while the output is still in cache.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include <Eigen/Core>

#include "wastenet/nn/activation.hpp"

namespace wastenet::kernels {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Epilogue over `rows` rows of `cols` channels (row stride `stride`): bias, activation, residual.
inline void f32_epilogue_portable(float* out, std::size_t rows, std::size_t cols, std::size_t stride, const float* bias,
                                  const Activation& act, const float* residual, std::size_t residual_stride) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* o = out + r * stride;
    for (std::size_t c = 0; c < cols; ++c) o[c] += bias[c];
    act.apply(o, cols);
    if (residual) {
      const float* s = residual + r * residual_stride;
      for (std::size_t c = 0; c < cols; ++c) o[c] += s[c];
    }
  }
}

/// 1x1 convolution rows [r0, r1) of the [M x K] input times packed weights [K x N] (row-major).
inline void f32_gemm_epilogue_eigen(const float* in, float* out, std::size_t r0, std::size_t r1, std::size_t K,
                                    std::size_t N, const float* packed_w, const float* bias, const Activation& act,
                                    const float* residual) {
  constexpr std::size_t block = 64;  // rows per GEMM call: the output block stays in L2 for the epilogue
  const Eigen::Map<const RowMajorMatrix> W(packed_w, static_cast<Eigen::Index>(K), static_cast<Eigen::Index>(N));
  for (std::size_t r = r0; r < r1; r += block) {
    const std::size_t m = std::min(block, r1 - r);
    Eigen::Map<const RowMajorMatrix> A(in + r * K, static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(K));
    Eigen::Map<RowMajorMatrix> C(out + r * N, static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(N));
    C.noalias() = A * W;
    f32_epilogue_portable(out + r * N, m, N, N, bias, act, residual ? residual + r * N : nullptr, N);
  }
}

/// Geometry of a 2-D convolution on NHWC tensors.
struct ConvGeometry {
  std::size_t n, h, w, c;          // input
  std::size_t oh, ow, oc;          // output
  std::size_t kh, kw, sh, sw, ph, pw, dh, dw, groups;
};

/// Output columns [first, last) whose taps all lie inside the image columns (ox * sw >= pw and
/// ox * sw - pw + (kw - 1) * dw < w); last >= first, equal when there are none. The SIMD kernels
/// run these without bounds checks and the border columns with them.
struct ColumnRange {
  std::size_t first, last;
};
inline ColumnRange inside_columns(const ConvGeometry& g) {
  const std::size_t reach = (g.kw - 1) * g.dw;  // from the first tap to the last
  const std::size_t first = std::min(g.ow, (g.pw + g.sw - 1) / g.sw);
  const std::size_t last = g.w + g.pw > reach ? std::min(g.ow, (g.w + g.pw - reach - 1) / g.sw + 1) : 0;
  return {first, std::max(first, last)};
}

/// Row r of a GEMM micro-tile of `rows` rows at `a` (row stride lda): rows past the end re-read
/// row 0, so the tile's loop needs no branch; their results are never stored. Shared by the
/// AVX2 and AVX-512 tiles.
inline const float* tile_row(const float* a, std::size_t lda, std::size_t rows, std::size_t r) {
  return r < rows ? a + r * lda : a;
}

/// Channels [c0, c1) of output pixel (oy, ox) of a depthwise convolution into `o` (that pixel's
/// output; `res` its residual or null), `in_n` the input image. Taps outside the image are skipped,
/// so each output sums bias, then the taps in [ky][kx] order. The AVX2 kernel finishes channels
/// past its last vector here.
inline void f32_dwconv_pixel_portable(const ConvGeometry& g, const float* in_n, std::size_t oy, std::size_t ox,
                                      std::size_t c0, std::size_t c1, const float* packed_w, const float* bias,
                                      const Activation& act, const float* res, float* o) {
  const std::size_t C = g.c;
  std::copy(bias + c0, bias + c1, o + c0);
  for (std::size_t ky = 0; ky < g.kh; ++ky) {
    const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ky * g.dh) - static_cast<std::ptrdiff_t>(g.ph);
    if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h)) continue;
    for (std::size_t kx = 0; kx < g.kw; ++kx) {
      const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.sw + kx * g.dw) - static_cast<std::ptrdiff_t>(g.pw);
      if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(g.w)) continue;
      const float* ip = in_n + (static_cast<std::size_t>(iy) * g.w + static_cast<std::size_t>(ix)) * C;
      const float* wp = packed_w + (ky * g.kw + kx) * C;
      for (std::size_t c = c0; c < c1; ++c) o[c] += ip[c] * wp[c];
    }
  }
  act.apply(o + c0, c1 - c0);
  if (res) {
    for (std::size_t c = c0; c < c1; ++c) o[c] += res[c];
  }
}

/// Depthwise convolution (groups == channels, one filter per channel), output rows [row0, row1)
/// where a row is one (n, oy). Weights packed [kh][kw][c]; SIMD runs across channels.
inline void f32_dwconv_portable(const ConvGeometry& g, const float* in, float* out, std::size_t row0, std::size_t row1,
                                const float* packed_w, const float* bias, const Activation& act,
                                const float* residual) {
  const std::size_t C = g.c;
  for (std::size_t row = row0; row < row1; ++row) {
    const std::size_t n = row / g.oh, oy = row % g.oh;
    const float* in_n = in + n * g.h * g.w * C;
    for (std::size_t ox = 0; ox < g.ow; ++ox) {
      const std::size_t at = (row * g.ow + ox) * C;
      f32_dwconv_pixel_portable(g, in_n, oy, ox, 0, C, packed_w, bias, act, residual ? residual + at : nullptr, out + at);
    }
  }
}

/// Gathers the receptive fields of output pixels [p, p + m) of group `grp` into rows of
/// kh*kw*cin_g values ([ky][kx][c]), zeros where the window leaves the image.
inline void im2col_rows(const ConvGeometry& g, const float* in, std::size_t p, std::size_t m, std::size_t grp, float* col) {
  const std::size_t cin_g = g.c / g.groups;
  const std::size_t K = g.kh * g.kw * cin_g;
  for (std::size_t i = 0; i < m; ++i) {
    const std::size_t pix = p + i;
    const std::size_t n = pix / (g.oh * g.ow), rem = pix % (g.oh * g.ow);
    const std::size_t oy = rem / g.ow, ox = rem % g.ow;
    float* crow = col + i * K;
    for (std::size_t ky = 0; ky < g.kh; ++ky) {
      const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ky * g.dh) - static_cast<std::ptrdiff_t>(g.ph);
      for (std::size_t kx = 0; kx < g.kw; ++kx) {
        const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.sw + kx * g.dw) - static_cast<std::ptrdiff_t>(g.pw);
        float* dst = crow + (ky * g.kw + kx) * cin_g;
        const bool outside = iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h) || ix < 0 || ix >= static_cast<std::ptrdiff_t>(g.w);
        const float* src = outside ? nullptr
                                   : in + ((n * g.h + static_cast<std::size_t>(iy)) * g.w + static_cast<std::size_t>(ix)) * g.c + grp * cin_g;
        if (cin_g == 3) {  // the RGB stem: three scalar moves, not a memmove call per tap
          dst[0] = src ? src[0] : 0.f;
          dst[1] = src ? src[1] : 0.f;
          dst[2] = src ? src[2] : 0.f;
        } else if (outside) {
          std::fill(dst, dst + cin_g, 0.f);
        } else {
          std::copy(src, src + cin_g, dst);
        }
      }
    }
  }
}

/// Any convolution, by im2col on blocks of output pixels then GEMM per group.
/// Output pixels [p0, p1) of n*oh*ow. Weights packed per group as [kh*kw*cin_g][cout_g].
inline void f32_conv_im2col_eigen(const ConvGeometry& g, const float* in, float* out, std::size_t p0, std::size_t p1,
                                  const float* packed_w, const float* bias, const Activation& act,
                                  const float* residual) {
  const std::size_t cin_g = g.c / g.groups, cout_g = g.oc / g.groups;
  const std::size_t K = g.kh * g.kw * cin_g;
  constexpr std::size_t block = 64;
  std::vector<float> col(block * K);
  for (std::size_t p = p0; p < p1; p += block) {
    const std::size_t m = std::min(block, p1 - p);
    for (std::size_t grp = 0; grp < g.groups; ++grp) {
      im2col_rows(g, in, p, m, grp, col.data());
      Eigen::Map<const RowMajorMatrix> A(col.data(), static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(K));
      Eigen::Map<const RowMajorMatrix> W(packed_w + grp * K * cout_g, static_cast<Eigen::Index>(K), static_cast<Eigen::Index>(cout_g));
      Eigen::Map<RowMajorMatrix, 0, Eigen::OuterStride<>> C(out + p * g.oc + grp * cout_g, static_cast<Eigen::Index>(m),
                                                            static_cast<Eigen::Index>(cout_g), Eigen::OuterStride<>(static_cast<Eigen::Index>(g.oc)));
      C.noalias() = A * W;
    }
    f32_epilogue_portable(out + p * g.oc, m, g.oc, g.oc, bias, act, residual ? residual + p * g.oc : nullptr, g.oc);
  }
}

}  // namespace wastenet::kernels
