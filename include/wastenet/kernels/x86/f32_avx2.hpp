// wastenet/kernels/x86/f32_avx2.hpp - FP32 AVX2 + FMA kernels for CPUs without AVX-512 (the
// "f16c" kernel path: most x86 edge boxes, and AMD before Zen 4).
//
// Compiled for AVX2 and FMA through target attributes, whatever the translation unit's flags, and
// only called after kernel_path_supported(KernelPath::f16c) said yes. The depthwise kernel reads
// the portable layout; the GEMM its own panels:
//
// - f32_gemm_6x16_avx2: 1x1 convolution and dense layers. Weights packed once into 16-column
//   panels [N/16][K][16]; 6 rows x 16 columns of accumulators (12 ymm) with broadcast inputs; the
//   epilogue (bias, activation, residual) is applied in registers before the only store, masked on
//   a narrower last panel. A last panel of at most 8 columns runs as 12 rows x 8 columns, and a
//   single row runs four panels side by side (a lone last row, right after those panels' tiles).
//   Each output is a sequential sum over k, so a row's result does not depend on which tile or
//   thread computed it.
// - f32_conv_avx2: other ungrouped convolutions (the stems) on the same tiles, reading each kernel
//   row's taps from the image in place; im2col only for border columns.
// - f32_dwconv_avx2: depthwise convolution, 8 channels per ymm. 5x5 kernels, and 3x3 at stride 1,
//   sweep up to 8 adjacent pixels per kernel row where the taps stay inside the image, loading
//   each input once for every weight that reads it; other kernels take four pixels x 16 channels
//   there. Elsewhere one pixel x 32 channels with taps outside skipped; the activation and
//   residual fused. Every kernel adds an output's taps in the same order: the same bits.
#pragma once

#include "wastenet/kernels/dispatch.hpp"

#if WASTENET_X86_KERNELS

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "wastenet/kernels/portable.hpp"
#include "wastenet/kernels/x86/exp_cephes.hpp"
#include "wastenet/nn/activation.hpp"

#define WASTENET_AVX2 __attribute__((target("avx2,fma")))

namespace wastenet::kernels {

/// Rows per GEMM micro-tile.
inline constexpr std::size_t avx2_gemm_mr = 6;

/// 1 + e^-x on 8 lanes, the denominator of sigmoid and SiLU. x is clamped to [-88.3, 87.3], so the
/// result is finite: below -88.3, sigmoid comes out under 2^-126 (the smallest normal float) but
/// larger than the true value, and SiLU a negative number no larger in magnitude than x * 2^-126.
/// SiLU is about a sixth of EfficientNet-B0's time, so e^-x is cheaper than Cephes' exp:
/// - e^-x = 2^n e^-r with n = round(-x log2 e) and r = x + n ln 2 (ln 2 in two parts, Cody and Waite);
/// - n is rounded by adding 1.5 * 2^23, which leaves n in the low mantissa bits, and 2^n is applied
///   by adding n << 23 to the exponent field of e^-r, an integer add instead of a multiply;
/// - e^-r on |r| <= ln2 / 2 by a degree-5 minimax polynomial (relative error 7.5e-8).
WASTENET_AVX2 inline __m256 sigmoid_denominator_avx2(__m256 x) {
  // Clamped so that n stays within [-126, 127] and adding it to the exponent field cannot wrap.
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-exp_cephes::max_x)), _mm256_set1_ps(-exp_cephes::min_x));
  const __m256 round_magic = _mm256_set1_ps(12582912.f);  // 1.5 * 2^23
  const __m256 n_magic = _mm256_fmadd_ps(x, _mm256_set1_ps(-exp_cephes::log2e), round_magic);
  const __m256 n = _mm256_sub_ps(n_magic, round_magic);
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(exp_cephes::ln2_hi), x);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(exp_cephes::ln2_lo), r);
  __m256 p = _mm256_set1_ps(exp_cephes::q5);  // e^-r
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_cephes::q4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_cephes::q3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_cephes::q2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_cephes::q1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_cephes::q0));
  // (1.5 * 2^23 + n) << 23 is n << 23: the magic's bits above the low 9 shift out.
  const __m256i scaled = _mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_castps_si256(n_magic), 23));
  return _mm256_add_ps(_mm256_set1_ps(1.f), _mm256_castsi256_ps(scaled));
}

/// 1 / (1 + e^-x) on 8 lanes, for sigmoid and the SE gates: within 4.2 ulp for x >= -87 (kernels_test
/// measures it). A true division, not a reciprocal estimate and a Newton step: two fewer operations
/// for the FMA pipes, which the rest of the function keeps busy, and a correctly rounded quotient.
WASTENET_AVX2 inline __m256 sigmoid_avx2(__m256 x) {
  return _mm256_div_ps(_mm256_set1_ps(1.f), sigmoid_denominator_avx2(x));
}

/// x / (1 + e^-x) on 8 lanes, within 3.8 ulp (kernels_test): SiLU in one division, where x times
/// the sigmoid took a reciprocal, a Newton step and two multiplications (8 lanes about 13% faster on
/// Zen 3, and EfficientNet-B0 about 3%).
WASTENET_AVX2 inline __m256 silu_avx2(__m256 x) { return _mm256_div_ps(x, sigmoid_denominator_avx2(x)); }

/// v, opaque to the compiler: a product returned through it is never fused with a later addition.
/// (GCC, at -ffp-contract=fast, fused an activation's final product with the residual's addition in
/// some inlined copies of an epilogue and not in others, so an output's bits depended on which
/// kernel made it.) Hard-swish ends in a product; SiLU and sigmoid end in a division, which is never
/// contracted, and need no barrier.
WASTENET_AVX2 inline __m256 unfused_avx2(__m256 v) {
  __asm__("" : "+x"(v));
  return v;
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
    return unfused_avx2(A == ActKind::hardswish ? _mm256_mul_ps(x, g) : g);
  } else if constexpr (A == ActKind::silu) {
    return silu_avx2(x);
  } else if constexpr (A == ActKind::sigmoid) {
    return sigmoid_avx2(x);
  } else {
    if (act.kind == ActKind::identity) return x;
    alignas(32) float v[8];
    _mm256_store_ps(v, x);
    for (float& f : v) f = act(f);
    return _mm256_load_ps(v);
  }
}

/// Calls body(std::integral_constant<ActKind, A>{}) with the epilogue kind A for `kind`: the kinds
/// activate_avx2 computes in vector form by name, every other kind as identity (whose epilogue
/// then applies `act` through its scalar definition). One switch for every AVX2 kernel.
template <class Body>
inline void with_activation_avx2(ActKind kind, Body&& body) {
  switch (kind) {
    case ActKind::relu: return body(std::integral_constant<ActKind, ActKind::relu>{});
    case ActKind::relu6: return body(std::integral_constant<ActKind, ActKind::relu6>{});
    case ActKind::silu: return body(std::integral_constant<ActKind, ActKind::silu>{});
    case ActKind::sigmoid: return body(std::integral_constant<ActKind, ActKind::sigmoid>{});
    case ActKind::hardswish: return body(std::integral_constant<ActKind, ActKind::hardswish>{});
    case ActKind::hardsigmoid: return body(std::integral_constant<ActKind, ActKind::hardsigmoid>{});
    default: return body(std::integral_constant<ActKind, ActKind::identity>{});
  }
}

/// Column panel width of the packed GEMM weights.
inline constexpr std::size_t avx2_gemm_nr = 16;

/// Packs row-major weights [K][N] into panels [ceil(N/16)][K][16], zero-padded: a tile then reads
/// its weights contiguously. (Row-major weights, N floats apart per k, map a K x 16 block onto a
/// few L1 sets when N is a multiple of 256 bytes: 320->1280 ran at a third of the packed rate.)
inline void pack_gemm_weights_avx2(const float* w, std::size_t K, std::size_t N, float* packed) {
  const std::size_t panels = (N + avx2_gemm_nr - 1) / avx2_gemm_nr;
  for (std::size_t p = 0; p < panels; ++p)
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t j = 0; j < avx2_gemm_nr; ++j) {
        const std::size_t n = p * avx2_gemm_nr + j;
        packed[(p * K + k) * avx2_gemm_nr + j] = n < N ? w[k * N + n] : 0.f;
      }
}

/// Floats pack_gemm_weights_avx2 writes for [K][N].
inline std::size_t packed_gemm_size_avx2(std::size_t K, std::size_t N) {
  return (N + avx2_gemm_nr - 1) / avx2_gemm_nr * avx2_gemm_nr * K;
}

/// Lane mask for the first n lanes (n >= 8: all), for maskload / maskstore.
WASTENET_AVX2 inline __m256i lanes_avx2(std::size_t n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::min<std::size_t>(n, 8))), idx);
}

/// Bias (already in `bias`), activation, residual and store of 8 columns of one output row of a
/// tile; a narrower last panel (`full` false) loads and stores only its `m` lanes.
template <ActKind A>
WASTENET_AVX2 inline void gemm_store_row8_avx2(__m256 v, __m256 bias, bool full, __m256i m, const Activation& act,
                                               const float* res, float* c) {
  v = activate_avx2<A>(_mm256_add_ps(v, bias), act);
  if (full) {
    if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res));
    _mm256_storeu_ps(c, v);
  } else {
    if (res) v = _mm256_add_ps(v, _mm256_maskload_ps(res, m));
    _mm256_maskstore_ps(c, m, v);
  }
}

/// The same for 16 columns (`m0/m1` the lanes of each half).
template <ActKind A>
WASTENET_AVX2 inline void gemm_store_row16_avx2(__m256 v0, __m256 v1, __m256 bias0, __m256 bias1, bool full, __m256i m0,
                                                __m256i m1, const Activation& act, const float* res, float* c) {
  gemm_store_row8_avx2<A>(v0, bias0, full, m0, act, res, c);
  gemm_store_row8_avx2<A>(v1, bias1, full, m1, act, res ? res + 8 : nullptr, c + 8);
}

/// Up to 6 rows x one 16-column panel (12 named accumulators; arrays would be spilled for the
/// epilogue), `cols` <= 16 of them real. The k range comes in `segs` segments of `seg_len`: row r
/// of segment s starts at a + s * seg_stride + r * lda, and its weights follow the previous
/// segment's in the panel. A GEMM is one segment; a convolution reads each kernel row's taps
/// (kw * cin contiguous floats) straight from the image, a segment per kernel row. With Prefetch,
/// it also asks for `next_panel`'s weights into L2, one line per k: 7x7 layers' weights (0.6-1.6
/// MB) come from L3 or memory, and the first tile of each panel fetches the next panel's ahead.
template <ActKind A, bool Prefetch = false>
WASTENET_AVX2 inline void f32_gemm_tile6x16_avx2(const float* a, std::size_t lda, std::size_t rows, std::size_t segs,
                                                 std::size_t seg_stride, std::size_t seg_len, const float* panel,
                                                 float* c, std::size_t ldc, std::size_t cols, const float* bias,
                                                 const Activation& act, const float* res, std::size_t ldr,
                                                 const float* next_panel = nullptr) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (std::size_t s = 0; s < segs; ++s) {
    const float* a0 = a + s * seg_stride;
    const float* a1 = tile_row(a0, lda, rows, 1);
    const float* a2 = tile_row(a0, lda, rows, 2);
    const float* a3 = tile_row(a0, lda, rows, 3);
    const float* a4 = tile_row(a0, lda, rows, 4);
    const float* a5 = tile_row(a0, lda, rows, 5);
    const float* w = panel + s * seg_len * 16;
    for (std::size_t k = 0; k < seg_len; ++k) {
      if constexpr (Prefetch) {
        _mm_prefetch(reinterpret_cast<const char*>(next_panel + (s * seg_len + k) * 16), _MM_HINT_T1);
      }
      const __m256 b0 = _mm256_load_ps(w + k * 16);
      const __m256 b1 = _mm256_load_ps(w + k * 16 + 8);
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
  }
  // The accumulators leave registers right after the loop: with the epilogue reading them
  // directly, GCC 12 kept one of the twelve in memory inside the loop (a store-forwarding chain
  // on every k).
  alignas(32) float acc[6][16];
  _mm256_store_ps(acc[0], c00);
  _mm256_store_ps(acc[0] + 8, c01);
  _mm256_store_ps(acc[1], c10);
  _mm256_store_ps(acc[1] + 8, c11);
  _mm256_store_ps(acc[2], c20);
  _mm256_store_ps(acc[2] + 8, c21);
  _mm256_store_ps(acc[3], c30);
  _mm256_store_ps(acc[3] + 8, c31);
  _mm256_store_ps(acc[4], c40);
  _mm256_store_ps(acc[4] + 8, c41);
  _mm256_store_ps(acc[5], c50);
  _mm256_store_ps(acc[5] + 8, c51);
  const bool full = cols == 16;
  const __m256i m0 = lanes_avx2(cols), m1 = lanes_avx2(cols > 8 ? cols - 8 : 0);
  const __m256 bias0 = _mm256_maskload_ps(bias, m0), bias1 = _mm256_maskload_ps(bias + 8, m1);
  for (std::size_t r = 0; r < rows; ++r) {
    gemm_store_row16_avx2<A>(_mm256_load_ps(acc[r]), _mm256_load_ps(acc[r] + 8), bias0, bias1, full, m0, m1, act,
                             res ? res + r * ldr : nullptr, c + r * ldc);
  }
}

/// Rows per tile of a last panel of at most 8 columns.
inline constexpr std::size_t avx2_gemm_narrow_mr = 12;

/// Up to 12 rows x a last panel of at most 8 real columns, one named accumulator per row: the 6x16
/// tile would spend half its FMAs on the panel's zero padding (N = 24 and 40 in MobileNetV2 and
/// EfficientNet). Each output is the same sum in the same order as in the 6x16 tile, so a row's
/// bits do not depend on which tile computed it. (GCC 12 keeps 4 of the 12 row pointers on the
/// stack; 10 rows, which need none there, were no faster on Zen 3.)
template <ActKind A>
WASTENET_AVX2 inline void f32_gemm_tile12x8_avx2(const float* a, std::size_t lda, std::size_t rows, std::size_t K,
                                                 const float* panel, float* c, std::size_t ldc, std::size_t cols,
                                                 const float* bias, const Activation& act, const float* res,
                                                 std::size_t ldr) {
  __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  __m256 c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  const float* a0 = a;
  const float* a1 = tile_row(a, lda, rows, 1);
  const float* a2 = tile_row(a, lda, rows, 2);
  const float* a3 = tile_row(a, lda, rows, 3);
  const float* a4 = tile_row(a, lda, rows, 4);
  const float* a5 = tile_row(a, lda, rows, 5);
  const float* a6 = tile_row(a, lda, rows, 6);
  const float* a7 = tile_row(a, lda, rows, 7);
  const float* a8 = tile_row(a, lda, rows, 8);
  const float* a9 = tile_row(a, lda, rows, 9);
  const float* a10 = tile_row(a, lda, rows, 10);
  const float* a11 = tile_row(a, lda, rows, 11);
  for (std::size_t k = 0; k < K; ++k) {
    const __m256 b = _mm256_load_ps(panel + k * 16);
    c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0 + k), b, c0);
    c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a1 + k), b, c1);
    c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a2 + k), b, c2);
    c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a3 + k), b, c3);
    c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a4 + k), b, c4);
    c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a5 + k), b, c5);
    c6 = _mm256_fmadd_ps(_mm256_broadcast_ss(a6 + k), b, c6);
    c7 = _mm256_fmadd_ps(_mm256_broadcast_ss(a7 + k), b, c7);
    c8 = _mm256_fmadd_ps(_mm256_broadcast_ss(a8 + k), b, c8);
    c9 = _mm256_fmadd_ps(_mm256_broadcast_ss(a9 + k), b, c9);
    c10 = _mm256_fmadd_ps(_mm256_broadcast_ss(a10 + k), b, c10);
    c11 = _mm256_fmadd_ps(_mm256_broadcast_ss(a11 + k), b, c11);
  }
  const __m256 acc[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  const __m256i m = lanes_avx2(cols);
  const __m256 bias0 = _mm256_maskload_ps(bias, m);
  for (std::size_t r = 0; r < rows; ++r) {
    gemm_store_row8_avx2<A>(acc[r], bias0, cols == 8, m, act, res ? res + r * ldr : nullptr, c + r * ldc);
  }
}

/// A single row times NP (1 to 4) consecutive panels: the matrix-vector products of the squeeze-and-
/// excitation and classifier layers, where a 6-row tile would spend 5 of every 6 FMAs on copies of
/// the row and wait on 2 dependent chains. The panels side by side give 2 x NP independent chains.
/// Each output still sums its K products in order from zero and then adds the bias, as in the
/// tiles, so the bits are the same.
template <ActKind A, std::size_t NP>
WASTENET_AVX2 inline void f32_gemv_panels_avx2(const float* a, const float* panel, std::size_t K, std::size_t N,
                                               std::size_t col, float* c, const float* bias, const Activation& act,
                                               const float* res) {
  static_assert(NP >= 1 && NP <= 4, "one to four panels");
  const float* p1 = panel + K * 16;
  const float* p2 = panel + 2 * K * 16;
  const float* p3 = panel + 3 * K * 16;
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (std::size_t k = 0; k < K; ++k) {
    const __m256 x = _mm256_broadcast_ss(a + k);
    c00 = _mm256_fmadd_ps(x, _mm256_load_ps(panel + k * 16), c00);
    c01 = _mm256_fmadd_ps(x, _mm256_load_ps(panel + k * 16 + 8), c01);
    if constexpr (NP > 1) {
      c10 = _mm256_fmadd_ps(x, _mm256_load_ps(p1 + k * 16), c10);
      c11 = _mm256_fmadd_ps(x, _mm256_load_ps(p1 + k * 16 + 8), c11);
    }
    if constexpr (NP > 2) {
      c20 = _mm256_fmadd_ps(x, _mm256_load_ps(p2 + k * 16), c20);
      c21 = _mm256_fmadd_ps(x, _mm256_load_ps(p2 + k * 16 + 8), c21);
    }
    if constexpr (NP > 3) {
      c30 = _mm256_fmadd_ps(x, _mm256_load_ps(p3 + k * 16), c30);
      c31 = _mm256_fmadd_ps(x, _mm256_load_ps(p3 + k * 16 + 8), c31);
    }
  }
  const __m256 acc[8] = {c00, c01, c10, c11, c20, c21, c30, c31};
  for (std::size_t j = 0; j < NP; ++j) {
    const std::size_t at = col + j * 16, cols = std::min<std::size_t>(16, N - at);
    const __m256i m0 = lanes_avx2(cols), m1 = lanes_avx2(cols > 8 ? cols - 8 : 0);
    gemm_store_row16_avx2<A>(acc[2 * j], acc[2 * j + 1], _mm256_maskload_ps(bias + at, m0),
                             _mm256_maskload_ps(bias + at + 8, m1), cols == 16, m0, m1, act, res ? res + at : nullptr,
                             c + at);
  }
}

/// One row times the `np` (1 to 4) panels from panel `p` on.
template <ActKind A>
WASTENET_AVX2 inline void f32_gemv_group_avx2(const float* a, std::size_t K, std::size_t N, const float* packed,
                                              std::size_t p, std::size_t np, float* c, const float* bias,
                                              const Activation& act, const float* res) {
  constexpr std::size_t nr = avx2_gemm_nr;
  const float* panel = packed + p * K * nr;
  switch (np) {
    case 4: return f32_gemv_panels_avx2<A, 4>(a, panel, K, N, p * nr, c, bias, act, res);
    case 3: return f32_gemv_panels_avx2<A, 3>(a, panel, K, N, p * nr, c, bias, act, res);
    case 2: return f32_gemv_panels_avx2<A, 2>(a, panel, K, N, p * nr, c, bias, act, res);
    default: return f32_gemv_panels_avx2<A, 1>(a, panel, K, N, p * nr, c, bias, act, res);
  }
}

template <ActKind A>
WASTENET_AVX2 inline void f32_gemm_rows_avx2(const float* a, std::size_t lda, float* c, std::size_t ldc, std::size_t rows,
                                             std::size_t K, std::size_t N, const float* packed, const float* bias,
                                             const Activation& act, const float* res, std::size_t ldr) {
  // Panels outermost within a row block: a panel (K x 16 floats) stays in L1/L2 while the rows stream.
  constexpr std::size_t row_block = 72;  // whole 6-row and 12-row tiles
  const std::size_t panels = (N + avx2_gemm_nr - 1) / avx2_gemm_nr;
  for (std::size_t rb = 0; rb < rows; rb += row_block) {
    const std::size_t re = std::min(rows, rb + row_block);
    // A lone last row (7x7 maps: 49 = 8 x 6 + 1) takes the matrix-vector kernel, where a 6-row tile
    // would spend 5 of every 6 FMAs on copies of it. Same bits either way.
    const std::size_t tiled_end = (re - rb) % avx2_gemm_mr == 1 ? re - 1 : re;
    for (std::size_t p0 = 0; p0 < panels; p0 += 4) {
      const std::size_t np = std::min<std::size_t>(4, panels - p0);
      for (std::size_t p = p0; p < p0 + np; ++p) {
        const std::size_t col = p * avx2_gemm_nr, cols = std::min(avx2_gemm_nr, N - col);
        if (cols <= 8) {
          for (std::size_t r = rb; r < tiled_end; r += avx2_gemm_narrow_mr) {
            f32_gemm_tile12x8_avx2<A>(a + r * lda, lda, std::min(avx2_gemm_narrow_mr, tiled_end - r), K,
                                      packed + p * K * avx2_gemm_nr, c + r * ldc + col, ldc, cols, bias + col, act,
                                      res ? res + r * ldr + col : nullptr, ldr);
          }
          continue;
        }
        for (std::size_t r = rb; r < tiled_end; r += avx2_gemm_mr) {
          if (r == rb && p + 1 < panels) {  // the block's first tile fetches the next panel
            f32_gemm_tile6x16_avx2<A, true>(a + r * lda, lda, std::min(avx2_gemm_mr, tiled_end - r), 1, 0, K,
                                            packed + p * K * avx2_gemm_nr, c + r * ldc + col, ldc, cols, bias + col,
                                            act, res ? res + r * ldr + col : nullptr, ldr,
                                            packed + (p + 1) * K * avx2_gemm_nr);
            continue;
          }
          f32_gemm_tile6x16_avx2<A>(a + r * lda, lda, std::min(avx2_gemm_mr, tiled_end - r), 1, 0, K,
                                    packed + p * K * avx2_gemm_nr, c + r * ldc + col, ldc, cols, bias + col, act,
                                    res ? res + r * ldr + col : nullptr, ldr);
        }
      }
      // The lone row right after the tiles of its four panels, while they are still in L2; after
      // all panels, it would read the whole matrix again, from L3 where that exceeds L2.
      if (tiled_end < re) {
        f32_gemv_group_avx2<A>(a + tiled_end * lda, K, N, packed, p0, np, c + tiled_end * ldc, bias, act,
                               res ? res + tiled_end * ldr : nullptr);
      }
    }
  }
}

/// C[rows][N] (row stride ldc) = act(A[rows][K] (row stride lda) * W + bias) [+ residual (row
/// stride ldr)], W packed by pack_gemm_weights_avx2.
WASTENET_AVX2 inline void f32_gemm_6x16_avx2(const float* a, std::size_t lda, float* c, std::size_t ldc, std::size_t rows,
                                             std::size_t K, std::size_t N, const float* packed, const float* bias,
                                             const Activation& act, const float* res, std::size_t ldr) {
  with_activation_avx2(act.kind, [&](auto kind) {
    f32_gemm_rows_avx2<decltype(kind)::value>(a, lda, c, ldc, rows, K, N, packed, bias, act, res, ldr);
  });
}

/// 1x1 convolution rows [r0, r1) of the [M x K] input times packed weights: the contract of
/// f32_gemm_epilogue_eigen, on pack_gemm_weights_avx2's layout.
WASTENET_AVX2 inline void f32_gemm_epilogue_avx2(const float* in, float* out, std::size_t r0, std::size_t r1, std::size_t K,
                                                 std::size_t N, const float* packed, const float* bias, const Activation& act,
                                                 const float* residual) {
  f32_gemm_6x16_avx2(in + r0 * K, K, out + r0 * N, N, r1 - r0, K, N, packed, bias, act,
                     residual ? residual + r0 * N : nullptr, N);
}

/// Output pixels [p, p + m) of an ungrouped convolution by im2col, then the GEMM.
WASTENET_AVX2 inline void f32_conv_im2col_avx2(const ConvGeometry& g, const float* in, float* out, std::size_t p,
                                               std::size_t m, const float* packed, const float* bias,
                                               const Activation& act, const float* residual) {
  const std::size_t K = g.kh * g.kw * g.c;
  constexpr std::size_t block = 48;  // whole 6-row tiles
  static thread_local std::vector<float> col;
  if (col.size() < block * K) col.resize(block * K);
  for (const std::size_t end = p + m; p < end; p += block) {
    const std::size_t rows = std::min(block, end - p);
    im2col_rows(g, in, p, rows, 0, col.data());
    f32_gemm_6x16_avx2(col.data(), K, out + p * g.oc, g.oc, rows, K, g.oc, packed, bias, act,
                       residual ? residual + p * g.oc : nullptr, g.oc);
  }
}

/// Output pixels [p0, p1) of an ungrouped convolution without dilation in x: runs of up to 6
/// pixels of one row whose taps lie inside the image columns are GEMM tiles reading the image
/// directly, one segment per kernel row inside the image (rows outside would add exact zeros, so
/// the sums are im2col's bit for bit); the other pixels (the borders) go through im2col.
template <ActKind A>
WASTENET_AVX2 inline void f32_conv_direct_avx2(const ConvGeometry& g, const float* in, float* out, std::size_t p0,
                                               std::size_t p1, const float* packed, const float* bias,
                                               const Activation& act, const float* residual) {
  const std::size_t C = g.c, H = g.h, W = g.w, OH = g.oh, OW = g.ow, OC = g.oc;
  const std::size_t K = g.kh * g.kw * C, seg_len = g.kw * C, lda = g.sw * C, seg_stride = g.dh * W * C;
  const std::size_t panels = (OC + avx2_gemm_nr - 1) / avx2_gemm_nr;
  const auto [x_lo, x_hi] = inside_columns(g);
  for (std::size_t p = p0; p < p1;) {
    const std::size_t n = p / (OH * OW), oy = p % (OH * OW) / OW, ox0 = p % OW;
    const std::size_t ox1 = std::min(OW, ox0 + (p1 - p));  // this row's part of the range
    const std::size_t d0 = std::clamp(x_lo, ox0, ox1), d1 = std::clamp(x_hi, d0, ox1);
    if (d0 > ox0) f32_conv_im2col_avx2(g, in, out, p, d0 - ox0, packed, bias, act, residual);
    if (d1 > d0) {
      // Kernel rows [ky0, ky1) lie inside the image.
      const std::ptrdiff_t iy0 = static_cast<std::ptrdiff_t>(oy * g.sh) - static_cast<std::ptrdiff_t>(g.ph);
      auto iy = [&](std::size_t ky) { return iy0 + static_cast<std::ptrdiff_t>(ky * g.dh); };
      std::size_t ky0 = 0, ky1 = g.kh;
      while (ky0 < ky1 && iy(ky0) < 0) ++ky0;
      while (ky1 > ky0 && iy(ky1 - 1) >= static_cast<std::ptrdiff_t>(H)) --ky1;
      // With no kernel row inside, the tiles run zero segments and read nothing.
      const float* a_row = ky0 < ky1 ? in + (n * H + static_cast<std::size_t>(iy(ky0))) * W * C : in;
      for (std::size_t pn = 0; pn < panels; ++pn) {
        const std::size_t col = pn * avx2_gemm_nr, cols = std::min(avx2_gemm_nr, OC - col);
        const float* panel = packed + (pn * K + ky0 * seg_len) * avx2_gemm_nr;
        for (std::size_t x = d0; x < d1; x += avx2_gemm_mr) {
          const std::size_t at = (p + x - ox0) * OC + col;
          f32_gemm_tile6x16_avx2<A>(a_row + (x * g.sw - g.pw) * C, lda, std::min(avx2_gemm_mr, d1 - x), ky1 - ky0,
                                    seg_stride, seg_len, panel, out + at, OC, cols, bias + col, act,
                                    residual ? residual + at : nullptr, OC);
        }
      }
    }
    if (ox1 > d1) f32_conv_im2col_avx2(g, in, out, p + d1 - ox0, ox1 - d1, packed, bias, act, residual);
    p += ox1 - ox0;
  }
}

/// An ungrouped convolution, output pixels [p0, p1), on weights [kh*kw*cin][cout] packed by
/// pack_gemm_weights_avx2: the contract of f32_conv_im2col_eigen. Direct where there is no
/// dilation in x (every torchvision classifier's stem), else by im2col.
WASTENET_AVX2 inline void f32_conv_avx2(const ConvGeometry& g, const float* in, float* out, std::size_t p0,
                                        std::size_t p1, const float* packed, const float* bias, const Activation& act,
                                        const float* residual) {
  if (g.dw != 1) return f32_conv_im2col_avx2(g, in, out, p0, p1 - p0, packed, bias, act, residual);
  with_activation_avx2(act.kind, [&](auto kind) {
    f32_conv_direct_avx2<decltype(kind)::value>(g, in, out, p0, p1, packed, bias, act, residual);
  });
}

/// 8 floats at p, or only the lanes of m when `Masked` (the others read as 0, and never touched).
template <bool Masked>
WASTENET_AVX2 inline __m256 load_lanes_avx2(const float* p, __m256i m) {
  if constexpr (Masked) {
    return _mm256_maskload_ps(p, m);
  } else {
    (void)m;
    return _mm256_loadu_ps(p);
  }
}

/// Channels [c0, c0 + 8 * V) of one output pixel of a depthwise convolution, V vectors at a time;
/// `Masked` (V = 1): channels [c0, C), fewer than 8, past the last multiple of 8, in masked lanes.
/// (Not the portable loop for those: inlined here, the compiler would contract its products and
/// sums into FMAs in some copies and not in others.)
template <ActKind A, int V, bool Masked = false>
WASTENET_AVX2 inline void dwconv_pixel_avx2(const float* in_n, const ConvGeometry& g, std::size_t oy, std::size_t ox,
                                            std::size_t c0, const float* w, const float* bias, const Activation& act,
                                            const float* res, float* o) {
  static_assert(!Masked || V == 1, "a masked pixel is one vector");
  const std::size_t C = g.c;
  const __m256i m = lanes_avx2(Masked ? C - c0 : 8);
  __m256 acc[V];
  for (int v = 0; v < V; ++v) acc[v] = load_lanes_avx2<Masked>(bias + c0 + 8 * v, m);
  for (std::size_t ky = 0; ky < g.kh; ++ky) {
    const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ky * g.dh) - static_cast<std::ptrdiff_t>(g.ph);
    if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h)) continue;
    for (std::size_t kx = 0; kx < g.kw; ++kx) {
      const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.sw + kx * g.dw) - static_cast<std::ptrdiff_t>(g.pw);
      if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(g.w)) continue;
      const float* ip = in_n + (static_cast<std::size_t>(iy) * g.w + static_cast<std::size_t>(ix)) * C + c0;
      const float* wp = w + (ky * g.kw + kx) * C + c0;
      for (int v = 0; v < V; ++v) acc[v] = _mm256_fmadd_ps(load_lanes_avx2<Masked>(ip + 8 * v, m), load_lanes_avx2<Masked>(wp + 8 * v, m), acc[v]);
    }
  }
  for (int v = 0; v < V; ++v) {
    __m256 r = activate_avx2<A>(acc[v], act);
    if (res) r = _mm256_add_ps(r, load_lanes_avx2<Masked>(res + c0 + 8 * v, m));
    if (Masked) {
      _mm256_maskstore_ps(o + c0, m, r);
    } else {
      _mm256_storeu_ps(o + c0 + 8 * v, r);
    }
  }
}

/// Channels [c0, C) of one output pixel: 32 at a time, then 8, then the rest in masked lanes.
template <ActKind A>
WASTENET_AVX2 inline void dwconv_pixel_channels_avx2(const float* in_n, const ConvGeometry& g, std::size_t oy,
                                                     std::size_t ox, std::size_t c0, const float* w, const float* bias,
                                                     const Activation& act, const float* res, float* o) {
  const std::size_t C = g.c;
  std::size_t c = c0;
  for (; c + 32 <= C; c += 32) dwconv_pixel_avx2<A, 4>(in_n, g, oy, ox, c, w, bias, act, res, o);
  for (; c + 8 <= C; c += 8) dwconv_pixel_avx2<A, 1>(in_n, g, oy, ox, c, w, bias, act, res, o);
  if (c < C) dwconv_pixel_avx2<A, 1, true>(in_n, g, oy, ox, c, w, bias, act, res, o);
}

/// Channels [c0, c0 + 16) of four adjacent output pixels whose taps all lie inside the image
/// horizontally: each weight vector loaded serves four pixels (8 accumulators), where the
/// one-pixel kernel loads a weight per input. The same sums in the same order as one pixel at a time.
template <ActKind A>
WASTENET_AVX2 inline void dwconv_block4x16_avx2(const float* in_n, const ConvGeometry& g, std::size_t oy, std::size_t ox,
                                                std::size_t c0, const float* w, const float* bias, const Activation& act,
                                                const float* res, float* o) {
  const std::size_t C = g.c, step = g.sw * C;
  __m256 a00 = _mm256_loadu_ps(bias + c0), a01 = _mm256_loadu_ps(bias + c0 + 8);
  __m256 a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
  for (std::size_t ky = 0; ky < g.kh; ++ky) {
    const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.sh + ky * g.dh) - static_cast<std::ptrdiff_t>(g.ph);
    if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.h)) continue;
    const float* irow = in_n + static_cast<std::size_t>(iy) * g.w * C + c0;
    const float* wrow = w + ky * g.kw * C + c0;
    for (std::size_t kx = 0; kx < g.kw; ++kx) {
      const float* ip = irow + (ox * g.sw + kx * g.dw - g.pw) * C;
      const __m256 w0 = _mm256_loadu_ps(wrow + kx * C), w1 = _mm256_loadu_ps(wrow + kx * C + 8);
      a00 = _mm256_fmadd_ps(_mm256_loadu_ps(ip), w0, a00);
      a01 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 8), w1, a01);
      a10 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + step), w0, a10);
      a11 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + step + 8), w1, a11);
      a20 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 2 * step), w0, a20);
      a21 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 2 * step + 8), w1, a21);
      a30 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 3 * step), w0, a30);
      a31 = _mm256_fmadd_ps(_mm256_loadu_ps(ip + 3 * step + 8), w1, a31);
    }
  }
  alignas(32) float acc[4][16];  // out of registers before the epilogue (see f32_gemm_tile6x16_avx2)
  _mm256_store_ps(acc[0], a00);
  _mm256_store_ps(acc[0] + 8, a01);
  _mm256_store_ps(acc[1], a10);
  _mm256_store_ps(acc[1] + 8, a11);
  _mm256_store_ps(acc[2], a20);
  _mm256_store_ps(acc[2] + 8, a21);
  _mm256_store_ps(acc[3], a30);
  _mm256_store_ps(acc[3] + 8, a31);
  for (std::size_t j = 0; j < 4; ++j) {
    for (std::size_t v = 0; v < 2; ++v) {
      __m256 r = activate_avx2<A>(_mm256_load_ps(acc[j] + 8 * v), act);
      if (res) r = _mm256_add_ps(r, _mm256_loadu_ps(res + j * C + c0 + 8 * v));
      _mm256_storeu_ps(o + j * C + c0 + 8 * v, r);
    }
  }
}

template <ActKind A>
WASTENET_AVX2 inline void f32_dwconv_rows_avx2(const ConvGeometry& g, const float* in, float* out, std::size_t row0,
                                               std::size_t row1, const float* w, const float* bias, const Activation& act,
                                               const float* residual) {
  const std::size_t C = g.c;
  const auto [x0, x1] = inside_columns(g);
  for (std::size_t row = row0; row < row1; ++row) {
    const std::size_t n = row / g.oh, oy = row % g.oh;
    const float* in_n = in + n * g.h * g.w * C;
    for (std::size_t ox = 0; ox < g.ow;) {
      float* o = out + (row * g.ow + ox) * C;
      const float* res = residual ? residual + (row * g.ow + ox) * C : nullptr;
      if (ox >= x0 && ox + 4 <= x1) {
        std::size_t c = 0;
        for (; c + 16 <= C; c += 16) dwconv_block4x16_avx2<A>(in_n, g, oy, ox, c, w, bias, act, res, o);
        for (std::size_t j = 0; c < C && j < 4; ++j) {
          dwconv_pixel_channels_avx2<A>(in_n, g, oy, ox + j, c, w, bias, act, res ? res + j * C : nullptr, o + j * C);
        }
        ox += 4;
      } else {
        dwconv_pixel_channels_avx2<A>(in_n, g, oy, ox, 0, w, bias, act, res, o);
        ++ox;
      }
    }
  }
}

/// Channels [c, c + 8) of J adjacent output pixels whose taps all lie inside the image
/// horizontally, for a KW-wide kernel with horizontal stride SW and no dilation. Per kernel row
/// the KW weight vectors stay in registers and each input pixel is loaded once and meets every
/// weight that reads it: (J - 1) * SW + KW input loads per J * KW FMAs, where dwconv_block4x16_avx2
/// loads one input per FMA. Input i feeds output j through tap kx = i - j * SW, so i ascending is
/// kx ascending for every output: the same sums in the same order as one pixel at a time.
template <ActKind A, std::size_t KW, std::size_t SW, std::size_t J>
WASTENET_AVX2 inline void dwconv_sweep_block_avx2(const float* in_n, std::size_t W, std::size_t C, std::size_t iy_first,
                                                  std::size_t rows, std::size_t ix0, std::size_t c, const float* w,
                                                  const float* bias, const Activation& act, const float* res, float* o) {
  constexpr std::size_t inputs = (J - 1) * SW + KW;
  __m256 acc[J];
  acc[0] = _mm256_loadu_ps(bias + c);
  for (std::size_t j = 1; j < J; ++j) acc[j] = acc[0];
  for (std::size_t r = 0; r < rows; ++r) {
    const float* ip = in_n + ((iy_first + r) * W + ix0) * C + c;
    const float* wp = w + r * KW * C + c;
    __m256 wk[KW];
#pragma GCC unroll 8
    for (std::size_t kx = 0; kx < KW; ++kx, wp += C) wk[kx] = _mm256_loadu_ps(wp);
#pragma GCC unroll 32
    for (std::size_t i = 0; i < inputs; ++i, ip += C) {
      const __m256 x = _mm256_loadu_ps(ip);
#pragma GCC unroll 8
      for (std::size_t kx = 0; kx < KW && kx <= i; ++kx) {
        if ((i - kx) % SW == 0 && (i - kx) / SW < J) acc[(i - kx) / SW] = _mm256_fmadd_ps(x, wk[kx], acc[(i - kx) / SW]);
      }
    }
  }
  alignas(32) float sums[J][8];  // out of registers before the epilogue (see f32_gemm_tile6x16_avx2)
  for (std::size_t j = 0; j < J; ++j) _mm256_store_ps(sums[j], acc[j]);
  for (std::size_t j = 0; j < J; ++j) {
    __m256 v = activate_avx2<A>(_mm256_load_ps(sums[j]), act);
    if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + j * C + c));
    _mm256_storeu_ps(o + j * C + c, v);
  }
}

/// Output pixels [ox, ox + J) of row oy, all inside the image horizontally: every 8 channels by
/// dwconv_sweep_block_avx2 over kernel rows [ky0, ky1) (those inside the image), then the channels
/// past the last multiple of 8 one pixel at a time.
template <ActKind A, std::size_t KW, std::size_t SW, std::size_t J>
WASTENET_AVX2 inline void dwconv_sweep_pixels_avx2(const float* in_n, const ConvGeometry& g, std::size_t oy, std::size_t ox,
                                                   std::size_t ky0, std::size_t ky1, const float* w, const float* bias,
                                                   const Activation& act, const float* r_row, float* o_row) {
  const std::size_t C = g.c, C8 = C / 8 * 8;
  const std::size_t iy_first = oy * g.sh + ky0 - g.ph;  // read only when ky1 > ky0, and then >= 0
  const float* r = r_row ? r_row + ox * C : nullptr;
  for (std::size_t c = 0; c < C8; c += 8) {
    dwconv_sweep_block_avx2<A, KW, SW, J>(in_n, g.w, C, iy_first, ky1 - ky0, ox * SW - g.pw, c, w + ky0 * KW * C, bias, act,
                                          r, o_row + ox * C);
  }
  for (std::size_t j = 0; C8 < C && j < J; ++j) {
    dwconv_pixel_avx2<A, 1, true>(in_n, g, oy, ox + j, C8, w, bias, act, r ? r + j * C : nullptr, o_row + (ox + j) * C);
  }
}

/// Depthwise rows for an undilated kernel KW wide with horizontal stride SW (f32_dwconv_avx2 says
/// which). The interior of a row is swept 8 pixels at a time, then 4, then the 2 or 3 left (all
/// of a 7x7 map's interior under a 5x5 kernel), each block over all channels 8 at a time; border
/// columns, a last lone pixel and channels past the last multiple of 8 take the one-pixel kernels.
template <ActKind A, std::size_t KW, std::size_t SW>
WASTENET_AVX2 inline void f32_dwconv_sweep_rows_avx2(const ConvGeometry& g, const float* in, float* out,
                                                     std::size_t row0, std::size_t row1, const float* w,
                                                     const float* bias, const Activation& act, const float* residual) {
  // Locals, not g's fields: stores through `out` would otherwise force reloads.
  const std::size_t C = g.c, H = g.h, W = g.w, OH = g.oh, OW = g.ow;
  const auto [x0, x1] = inside_columns(g);
  for (std::size_t row = row0; row < row1; ++row) {
    const std::size_t n = row / OH, oy = row % OH;
    const std::ptrdiff_t iy0 = static_cast<std::ptrdiff_t>(oy * g.sh) - static_cast<std::ptrdiff_t>(g.ph);
    std::size_t ky0 = 0, ky1 = g.kh;  // kernel rows inside the image
    while (ky0 < ky1 && iy0 + static_cast<std::ptrdiff_t>(ky0) < 0) ++ky0;
    while (ky1 > ky0 && iy0 + static_cast<std::ptrdiff_t>(ky1 - 1) >= static_cast<std::ptrdiff_t>(H)) --ky1;
    const float* in_n = in + n * H * W * C;
    float* o_row = out + row * OW * C;
    const float* r_row = residual ? residual + row * OW * C : nullptr;
    std::size_t ox = 0;
    for (; ox < x0; ++ox) dwconv_pixel_channels_avx2<A>(in_n, g, oy, ox, 0, w, bias, act, r_row ? r_row + ox * C : nullptr, o_row + ox * C);
    for (; ox + 8 <= x1; ox += 8) dwconv_sweep_pixels_avx2<A, KW, SW, 8>(in_n, g, oy, ox, ky0, ky1, w, bias, act, r_row, o_row);
    for (; ox + 4 <= x1; ox += 4) dwconv_sweep_pixels_avx2<A, KW, SW, 4>(in_n, g, oy, ox, ky0, ky1, w, bias, act, r_row, o_row);
    if (x1 - ox == 3) {
      dwconv_sweep_pixels_avx2<A, KW, SW, 3>(in_n, g, oy, ox, ky0, ky1, w, bias, act, r_row, o_row);
      ox += 3;
    } else if (x1 - ox == 2) {
      dwconv_sweep_pixels_avx2<A, KW, SW, 2>(in_n, g, oy, ox, ky0, ky1, w, bias, act, r_row, o_row);
      ox += 2;
    }
    for (; ox < OW; ++ox) dwconv_pixel_channels_avx2<A>(in_n, g, oy, ox, 0, w, bias, act, r_row ? r_row + ox * C : nullptr, o_row + ox * C);
  }
}

/// Depthwise convolution output rows [row0, row1) (a row is one (n, oy)), weights [kh][kw][C]:
/// the same contract as f32_dwconv_portable.
WASTENET_AVX2 inline void f32_dwconv_avx2(const ConvGeometry& g, const float* in, float* out, std::size_t row0,
                                          std::size_t row1, const float* w, const float* bias, const Activation& act,
                                          const float* residual) {
  // Not 3x3 at stride 2: there the sweep was 3-7% slower than the four-pixel kernel; 3x3 at
  // stride 1 was 1-8% faster, 5x5 7-24% (fastest of alternated calls, docs/BENCHMARKS.md).
  const bool sweep = g.dh == 1 && g.dw == 1 && ((g.kw == 3 && g.sw == 1) || (g.kw == 5 && (g.sw == 1 || g.sw == 2)));
  with_activation_avx2(act.kind, [&](auto kind) {
    constexpr ActKind A = decltype(kind)::value;
    if (!sweep) return f32_dwconv_rows_avx2<A>(g, in, out, row0, row1, w, bias, act, residual);
    if (g.kw == 3) return f32_dwconv_sweep_rows_avx2<A, 3, 1>(g, in, out, row0, row1, w, bias, act, residual);
    if (g.sw == 1) return f32_dwconv_sweep_rows_avx2<A, 5, 1>(g, in, out, row0, row1, w, bias, act, residual);
    return f32_dwconv_sweep_rows_avx2<A, 5, 2>(g, in, out, row0, row1, w, bias, act, residual);
  });
}

}  // namespace wastenet::kernels

#endif  // WASTENET_X86_KERNELS
