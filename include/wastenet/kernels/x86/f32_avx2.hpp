// wastenet/kernels/x86/f32_avx2.hpp - FP32 AVX2 + FMA kernels for CPUs without AVX-512 (the
// "f16c" kernel path: most x86 edge boxes, and AMD before Zen 4).
//
// Compiled for AVX2 and FMA through target attributes, whatever the translation unit's flags, and
// only called after kernel_path_supported(KernelPath::f16c) said yes. They read the portable
// path's weight layouts, so packing is shared with it:
//
// - f32_gemm_6x16_avx2: 1x1 convolution (and im2col'ed convolutions, and dense layers) on
//   row-major weights [K][N]. 6 rows x 16 columns of accumulators (12 ymm) with broadcast inputs,
//   then 8-column and masked tails; the epilogue (bias, activation, residual) is applied in
//   registers before the only store. Each output is a sequential sum over k, so a row's result does
//   not depend on which tile or thread computed it.
// - f32_dwconv_avx2: depthwise convolution, 8 channels per ymm (four at a time), taps outside the
//   image skipped, the activation and residual fused.
#pragma once

#include "wastenet/kernels/dispatch.hpp"

#if WASTENET_X86_KERNELS

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "wastenet/kernels/portable.hpp"
#include "wastenet/nn/activation.hpp"

#define WASTENET_AVX2 __attribute__((target("avx2,fma")))

namespace wastenet::kernels {

/// Rows per GEMM micro-tile.
inline constexpr std::size_t avx2_gemm_mr = 6;

/// exp(x) for x in any range, relative error about 2 ulp (Cephes' polynomial; 2^n built in the
/// exponent field, n within [-126, 127] after the clamp).
WASTENET_AVX2 inline __m256 exp_avx2(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/// The activation on 8 lanes, its kind fixed at compile time so that epilogues are straight-line
/// code. Kinds without a vector form (identity's `A` with another `act.kind`) go through the scalar
/// definition: pass ActKind::identity as A and the real kind in `act` (see avx2_epilogue_kind).
template <ActKind A>
WASTENET_AVX2 inline __m256 activate_avx2(__m256 x, const Activation& act) {
  const __m256 zero = _mm256_setzero_ps();
  if constexpr (A == ActKind::relu) {
    return _mm256_max_ps(x, zero);
  } else if constexpr (A == ActKind::relu6) {
    return _mm256_min_ps(_mm256_max_ps(x, zero), _mm256_set1_ps(6.f));
  } else if constexpr (A == ActKind::hardswish || A == ActKind::hardsigmoid) {
    const __m256 g = _mm256_mul_ps(_mm256_min_ps(_mm256_max_ps(_mm256_add_ps(x, _mm256_set1_ps(3.f)), zero),
                                                 _mm256_set1_ps(6.f)),
                                   _mm256_set1_ps(1.f / 6.f));
    return A == ActKind::hardswish ? _mm256_mul_ps(x, g) : g;
  } else if constexpr (A == ActKind::silu || A == ActKind::sigmoid) {
    // 1 / (1 + e^-x): a 12-bit reciprocal and one Newton step instead of a division
    const __m256 d = _mm256_add_ps(_mm256_set1_ps(1.f), exp_avx2(_mm256_sub_ps(zero, x)));
    const __m256 r = _mm256_rcp_ps(d);
    const __m256 s = _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.f)));
    return A == ActKind::silu ? _mm256_mul_ps(x, s) : s;
  } else {
    if (act.kind == ActKind::identity) return x;
    alignas(32) float v[8];
    _mm256_store_ps(v, x);
    for (float& f : v) f = act(f);
    return _mm256_load_ps(v);
  }
}

/// Lane mask for the first n (1..8) lanes, for maskload / maskstore.
WASTENET_AVX2 inline __m256i lanes_avx2(std::size_t n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), idx);
}

/// Row r of a tile, or row 0 for rows the tile does not have (computed, never stored).
inline const float* avx2_tile_row(const float* a, std::size_t lda, std::size_t rows, std::size_t r) {
  return r < rows ? a + r * lda : a;
}

/// Bias, activation, residual and store of one output row of a 16-column tile.
template <ActKind A>
WASTENET_AVX2 inline void gemm_store_row16_avx2(__m256 v0, __m256 v1, __m256 bias0, __m256 bias1, const Activation& act,
                                                const float* res, float* c) {
  v0 = activate_avx2<A>(_mm256_add_ps(v0, bias0), act);
  v1 = activate_avx2<A>(_mm256_add_ps(v1, bias1), act);
  if (res) {
    v0 = _mm256_add_ps(v0, _mm256_loadu_ps(res));
    v1 = _mm256_add_ps(v1, _mm256_loadu_ps(res + 8));
  }
  _mm256_storeu_ps(c, v0);
  _mm256_storeu_ps(c + 8, v1);
}

/// Up to 6 rows x 16 columns (12 named accumulators; arrays would be spilled for the epilogue).
template <ActKind A>
WASTENET_AVX2 inline void f32_gemm_tile6x16_avx2(const float* a, std::size_t lda, std::size_t rows, const float* w,
                                                 std::size_t ldw, std::size_t K, float* c, std::size_t ldc,
                                                 const float* bias, const Activation& act, const float* res,
                                                 std::size_t ldr) {
  const float* a0 = a;
  const float* a1 = avx2_tile_row(a, lda, rows, 1);
  const float* a2 = avx2_tile_row(a, lda, rows, 2);
  const float* a3 = avx2_tile_row(a, lda, rows, 3);
  const float* a4 = avx2_tile_row(a, lda, rows, 4);
  const float* a5 = avx2_tile_row(a, lda, rows, 5);
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (std::size_t k = 0; k < K; ++k) {
    const __m256 b0 = _mm256_loadu_ps(w + k * ldw);
    const __m256 b1 = _mm256_loadu_ps(w + k * ldw + 8);
    __m256 x = _mm256_broadcast_ss(a0 + k);
    c00 = _mm256_fmadd_ps(x, b0, c00);
    c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a1 + k);
    c10 = _mm256_fmadd_ps(x, b0, c10);
    c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a2 + k);
    c20 = _mm256_fmadd_ps(x, b0, c20);
    c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a3 + k);
    c30 = _mm256_fmadd_ps(x, b0, c30);
    c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a4 + k);
    c40 = _mm256_fmadd_ps(x, b0, c40);
    c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a5 + k);
    c50 = _mm256_fmadd_ps(x, b0, c50);
    c51 = _mm256_fmadd_ps(x, b1, c51);
  }
  const __m256 bias0 = _mm256_loadu_ps(bias), bias1 = _mm256_loadu_ps(bias + 8);
  gemm_store_row16_avx2<A>(c00, c01, bias0, bias1, act, res, c);
  if (rows > 1) gemm_store_row16_avx2<A>(c10, c11, bias0, bias1, act, res ? res + ldr : nullptr, c + ldc);
  if (rows > 2) gemm_store_row16_avx2<A>(c20, c21, bias0, bias1, act, res ? res + 2 * ldr : nullptr, c + 2 * ldc);
  if (rows > 3) gemm_store_row16_avx2<A>(c30, c31, bias0, bias1, act, res ? res + 3 * ldr : nullptr, c + 3 * ldc);
  if (rows > 4) gemm_store_row16_avx2<A>(c40, c41, bias0, bias1, act, res ? res + 4 * ldr : nullptr, c + 4 * ldc);
  if (rows > 5) gemm_store_row16_avx2<A>(c50, c51, bias0, bias1, act, res ? res + 5 * ldr : nullptr, c + 5 * ldc);
}

/// Up to 6 rows x the last 1..8 columns, loads and stores masked so that nothing past column
/// `cols` is touched.
template <ActKind A>
WASTENET_AVX2 inline void f32_gemm_tile6x8_avx2(const float* a, std::size_t lda, std::size_t rows, const float* w,
                                                std::size_t ldw, std::size_t K, std::size_t cols, float* c,
                                                std::size_t ldc, const float* bias, const Activation& act,
                                                const float* res, std::size_t ldr) {
  const __m256i m = lanes_avx2(cols);
  __m256 acc[6];
  for (auto& v : acc) v = _mm256_setzero_ps();
  for (std::size_t k = 0; k < K; ++k) {
    const __m256 b = _mm256_maskload_ps(w + k * ldw, m);
    for (std::size_t r = 0; r < 6; ++r) acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(avx2_tile_row(a, lda, rows, r) + k), b, acc[r]);
  }
  const __m256 bv = _mm256_maskload_ps(bias, m);
  for (std::size_t r = 0; r < rows; ++r) {
    __m256 v = activate_avx2<A>(_mm256_add_ps(acc[r], bv), act);
    if (res) v = _mm256_add_ps(v, _mm256_maskload_ps(res + r * ldr, m));
    _mm256_maskstore_ps(c + r * ldc, m, v);
  }
}

template <ActKind A>
WASTENET_AVX2 inline void f32_gemm_rows_avx2(const float* a, std::size_t lda, float* c, std::size_t ldc, std::size_t rows,
                                             std::size_t K, std::size_t N, const float* w, std::size_t ldw,
                                             const float* bias, const Activation& act, const float* res,
                                             std::size_t ldr) {
  // Column blocks outermost within a row block: a block's K x 16 weights stay in L1/L2 while rows stream.
  constexpr std::size_t row_block = 72;
  for (std::size_t rb = 0; rb < rows; rb += row_block) {
    const std::size_t re = std::min(rows, rb + row_block);
    std::size_t col = 0;
    for (; col + 16 <= N; col += 16) {
      for (std::size_t r = rb; r < re; r += avx2_gemm_mr) {
        f32_gemm_tile6x16_avx2<A>(a + r * lda, lda, std::min(avx2_gemm_mr, re - r), w + col, ldw, K, c + r * ldc + col,
                                  ldc, bias + col, act, res ? res + r * ldr + col : nullptr, ldr);
      }
    }
    for (; col < N; col += 8) {
      const std::size_t cols = std::min<std::size_t>(8, N - col);
      for (std::size_t r = rb; r < re; r += avx2_gemm_mr) {
        f32_gemm_tile6x8_avx2<A>(a + r * lda, lda, std::min(avx2_gemm_mr, re - r), w + col, ldw, K, cols,
                                 c + r * ldc + col, ldc, bias + col, act, res ? res + r * ldr + col : nullptr, ldr);
      }
    }
  }
}

/// C[rows][N] (row stride ldc) = act(A[rows][K] (row stride lda) * W[K][N] (row stride ldw) + bias)
/// [+ residual (row stride ldr)].
WASTENET_AVX2 inline void f32_gemm_6x16_avx2(const float* a, std::size_t lda, float* c, std::size_t ldc, std::size_t rows,
                                             std::size_t K, std::size_t N, const float* w, std::size_t ldw,
                                             const float* bias, const Activation& act, const float* res,
                                             std::size_t ldr) {
  switch (act.kind) {
    case ActKind::relu: return f32_gemm_rows_avx2<ActKind::relu>(a, lda, c, ldc, rows, K, N, w, ldw, bias, act, res, ldr);
    case ActKind::relu6: return f32_gemm_rows_avx2<ActKind::relu6>(a, lda, c, ldc, rows, K, N, w, ldw, bias, act, res, ldr);
    case ActKind::silu: return f32_gemm_rows_avx2<ActKind::silu>(a, lda, c, ldc, rows, K, N, w, ldw, bias, act, res, ldr);
    case ActKind::sigmoid: return f32_gemm_rows_avx2<ActKind::sigmoid>(a, lda, c, ldc, rows, K, N, w, ldw, bias, act, res, ldr);
    case ActKind::hardswish: return f32_gemm_rows_avx2<ActKind::hardswish>(a, lda, c, ldc, rows, K, N, w, ldw, bias, act, res, ldr);
    case ActKind::hardsigmoid: return f32_gemm_rows_avx2<ActKind::hardsigmoid>(a, lda, c, ldc, rows, K, N, w, ldw, bias, act, res, ldr);
    default: return f32_gemm_rows_avx2<ActKind::identity>(a, lda, c, ldc, rows, K, N, w, ldw, bias, act, res, ldr);
  }
}

/// 1x1 convolution rows [r0, r1) of the [M x K] input times row-major weights [K x N]: the same
/// contract as f32_gemm_epilogue_eigen.
WASTENET_AVX2 inline void f32_gemm_epilogue_avx2(const float* in, float* out, std::size_t r0, std::size_t r1, std::size_t K,
                                                 std::size_t N, const float* w, const float* bias, const Activation& act,
                                                 const float* residual) {
  f32_gemm_6x16_avx2(in + r0 * K, K, out + r0 * N, N, r1 - r0, K, N, w, N, bias, act,
                     residual ? residual + r0 * N : nullptr, N);
}

/// Any convolution by im2col on blocks of output pixels, then the AVX2 GEMM per group: the same
/// contract as f32_conv_im2col_eigen.
WASTENET_AVX2 inline void f32_conv_im2col_avx2(const ConvGeometry& g, const float* in, float* out, std::size_t p0,
                                               std::size_t p1, const float* packed_w, const float* bias,
                                               const Activation& act, const float* residual) {
  const std::size_t cin_g = g.c / g.groups, cout_g = g.oc / g.groups;
  const std::size_t K = g.kh * g.kw * cin_g;
  constexpr std::size_t block = 48;  // whole 6-row tiles
  std::vector<float> col(block * K);
  for (std::size_t p = p0; p < p1; p += block) {
    const std::size_t m = std::min(block, p1 - p);
    for (std::size_t grp = 0; grp < g.groups; ++grp) {
      im2col_rows(g, in, p, m, grp, col.data());
      f32_gemm_6x16_avx2(col.data(), K, out + p * g.oc + grp * cout_g, g.oc, m, K, cout_g, packed_w + grp * K * cout_g,
                         cout_g, bias + grp * cout_g, act, residual ? residual + p * g.oc + grp * cout_g : nullptr, g.oc);
    }
  }
}

/// Channels [c0, c0 + 8 * V) of one output pixel of a depthwise convolution, V vectors at a time.
template <ActKind A, int V>
WASTENET_AVX2 inline void dwconv_pixel_avx2(const float* in_n, const ConvGeometry& g, std::size_t oy, std::size_t ox,
                                            std::size_t c0, const float* w, const float* bias, const Activation& act,
                                            const float* res, float* o) {
  const std::size_t C = g.c;
  __m256 acc[V];
  for (int v = 0; v < V; ++v) acc[v] = _mm256_loadu_ps(bias + c0 + 8 * v);
  for (std::size_t ky = 0; ky < g.kh; ++ky) {
    const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ky * g.dh) - static_cast<std::ptrdiff_t>(g.ph);
    if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h)) continue;
    for (std::size_t kx = 0; kx < g.kw; ++kx) {
      const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.sw + kx * g.dw) - static_cast<std::ptrdiff_t>(g.pw);
      if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(g.w)) continue;
      const float* ip = in_n + (static_cast<std::size_t>(iy) * g.w + static_cast<std::size_t>(ix)) * C + c0;
      const float* wp = w + (ky * g.kw + kx) * C + c0;
      for (int v = 0; v < V; ++v) acc[v] = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 8 * v), _mm256_loadu_ps(wp + 8 * v), acc[v]);
    }
  }
  for (int v = 0; v < V; ++v) {
    __m256 r = activate_avx2<A>(acc[v], act);
    if (res) r = _mm256_add_ps(r, _mm256_loadu_ps(res + c0 + 8 * v));
    _mm256_storeu_ps(o + c0 + 8 * v, r);
  }
}

template <ActKind A>
WASTENET_AVX2 inline void f32_dwconv_rows_avx2(const ConvGeometry& g, const float* in, float* out, std::size_t row0,
                                               std::size_t row1, const float* w, const float* bias, const Activation& act,
                                               const float* residual) {
  const std::size_t C = g.c;
  for (std::size_t row = row0; row < row1; ++row) {
    const std::size_t n = row / g.oh, oy = row % g.oh;
    const float* in_n = in + n * g.h * g.w * C;
    for (std::size_t ox = 0; ox < g.ow; ++ox) {
      float* o = out + (row * g.ow + ox) * C;
      const float* res = residual ? residual + (row * g.ow + ox) * C : nullptr;
      std::size_t c = 0;
      for (; c + 32 <= C; c += 32) dwconv_pixel_avx2<A, 4>(in_n, g, oy, ox, c, w, bias, act, res, o);
      for (; c + 8 <= C; c += 8) dwconv_pixel_avx2<A, 1>(in_n, g, oy, ox, c, w, bias, act, res, o);
      for (; c < C; ++c) {  // channels past the last multiple of 8, as the portable kernel does them
        float acc = bias[c];
        for (std::size_t ky = 0; ky < g.kh; ++ky) {
          const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ky * g.dh) - static_cast<std::ptrdiff_t>(g.ph);
          if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h)) continue;
          for (std::size_t kx = 0; kx < g.kw; ++kx) {
            const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.sw + kx * g.dw) - static_cast<std::ptrdiff_t>(g.pw);
            if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(g.w)) continue;
            acc += in_n[(static_cast<std::size_t>(iy) * g.w + static_cast<std::size_t>(ix)) * C + c] * w[(ky * g.kw + kx) * C + c];
          }
        }
        o[c] = act(acc) + (res ? res[c] : 0.f);
      }
    }
  }
}

/// Depthwise convolution output rows [row0, row1) (a row is one (n, oy)), weights [kh][kw][C]:
/// the same contract as f32_dwconv_portable.
WASTENET_AVX2 inline void f32_dwconv_avx2(const ConvGeometry& g, const float* in, float* out, std::size_t row0,
                                          std::size_t row1, const float* w, const float* bias, const Activation& act,
                                          const float* residual) {
  switch (act.kind) {
    case ActKind::relu: return f32_dwconv_rows_avx2<ActKind::relu>(g, in, out, row0, row1, w, bias, act, residual);
    case ActKind::relu6: return f32_dwconv_rows_avx2<ActKind::relu6>(g, in, out, row0, row1, w, bias, act, residual);
    case ActKind::silu: return f32_dwconv_rows_avx2<ActKind::silu>(g, in, out, row0, row1, w, bias, act, residual);
    case ActKind::sigmoid: return f32_dwconv_rows_avx2<ActKind::sigmoid>(g, in, out, row0, row1, w, bias, act, residual);
    case ActKind::hardswish: return f32_dwconv_rows_avx2<ActKind::hardswish>(g, in, out, row0, row1, w, bias, act, residual);
    case ActKind::hardsigmoid: return f32_dwconv_rows_avx2<ActKind::hardsigmoid>(g, in, out, row0, row1, w, bias, act, residual);
    default: return f32_dwconv_rows_avx2<ActKind::identity>(g, in, out, row0, row1, w, bias, act, residual);
  }
}

}  // namespace wastenet::kernels

#endif  // WASTENET_X86_KERNELS
