// wastenet/kernels/x86/f32_avx512.hpp - FP32 AVX-512 kernels for NHWC convolutions.
//
// Compiled for AVX-512 through target attributes, whatever the translation unit's flags, and only
// called after kernel_path_supported(KernelPath::avx512) said yes. Names follow XNNPACK's scheme:
// data type, operation, register tile, ISA.
//
// - f32_gemm_7x32_avx512: 1x1 convolution. Weights packed once into 32-column panels
//   [N/32][K][32]; 7 rows x 32 columns of accumulators (14 zmm) with broadcast inputs; the
//   epilogue (bias, activation, residual) is applied in registers before the only store. A last
//   panel of at most 16 columns runs 12 rows x 16 columns instead, skipping its zero half.
// - f32_dwconv_avx512: depthwise convolution, 16 channels per zmm, taps outside the image skipped,
//   the activation and residual fused; 3x3 and 5x5 (f32_dwconv_fixed_avx512) sweep 4 pixels per
//   kernel row, each input loaded once for the outputs that read it.
#pragma once

#include "wastenet/kernels/dispatch.hpp"

#if WASTENET_X86_KERNELS

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "wastenet/half.hpp"
#include "wastenet/kernels/portable.hpp"
#include "wastenet/kernels/x86/exp_cephes.hpp"
#include "wastenet/nn/activation.hpp"

// GCC 12.2's AVX-512 intrinsics initialise a variable from itself (_mm512_undefined_ps, GCC bug
// 105593), which -Wmaybe-uninitialized reports in every caller.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#define WASTENET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

namespace wastenet::kernels {

/// Column panel width of the packed GEMM weights.
inline constexpr std::size_t avx512_gemm_nr = 32;
/// Rows per micro-kernel call. 7 divides the pixel count of every feature map of a 224 px input
/// (112x112 down to 7x7); with 6, a 7x7 map took 9 tiles, the last one of a single row.
inline constexpr std::size_t avx512_gemm_mr = 7;

/// Packs row-major weights [K][N] into panels [ceil(N/32)][K][32], zero-padded.
inline void pack_gemm_weights_avx512(const float* w, std::size_t K, std::size_t N, float* packed) {
  const std::size_t panels = (N + avx512_gemm_nr - 1) / avx512_gemm_nr;
  for (std::size_t p = 0; p < panels; ++p)
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t j = 0; j < avx512_gemm_nr; ++j) {
        const std::size_t n = p * avx512_gemm_nr + j;
        packed[(p * K + k) * avx512_gemm_nr + j] = n < N ? w[k * N + n] : 0.f;
      }
}

/// 1 + e^-x on 16 lanes, the denominator of sigmoid and SiLU: the function of sigmoid_denominator_avx2
/// (f32_avx2.hpp, which explains the clamp), with the same constants. n is rounded by adding
/// 1.5 * 2^23 and 2^n applied by an integer add to the exponent field. It replaced Cephes' exp with
/// roundscale and scalef, and a reciprocal with a Newton step: fewer operations for the FMA pipes,
/// and SiLU is about a sixth of EfficientNet-B0's time, which took 0.92x as long
/// (docs/BENCHMARKS.md). Sigmoid and SiLU then divide, as on AVX2, so the two paths give the same
/// bits (kernels_test).
WASTENET_AVX512 inline __m512 sigmoid_denominator_avx512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-exp_cephes::max_x)), _mm512_set1_ps(-exp_cephes::min_x));
  const __m512 round_magic = _mm512_set1_ps(12582912.f);  // 1.5 * 2^23
  const __m512 n_magic = _mm512_fmadd_ps(x, _mm512_set1_ps(-exp_cephes::log2e), round_magic);
  const __m512 n = _mm512_sub_ps(n_magic, round_magic);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(exp_cephes::ln2_hi), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(exp_cephes::ln2_lo), r);
  __m512 p = _mm512_set1_ps(exp_cephes::q5);  // e^-r
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_cephes::q4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_cephes::q3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_cephes::q2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_cephes::q1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_cephes::q0));
  const __m512i scaled = _mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32(_mm512_castps_si512(n_magic), 23));
  return _mm512_add_ps(_mm512_set1_ps(1.f), _mm512_castsi512_ps(scaled));
}

/// The activation on 16 lanes. Kinds without a vector form go through the scalar definition.
WASTENET_AVX512 inline __m512 activate_avx512(__m512 x, const Activation& act) {
  const __m512 zero = _mm512_setzero_ps();
  switch (act.kind) {
    case ActKind::identity: return x;
    case ActKind::relu: return _mm512_max_ps(x, zero);
    case ActKind::relu6: return _mm512_min_ps(_mm512_max_ps(x, zero), _mm512_set1_ps(6.f));
    case ActKind::hardsigmoid:
    case ActKind::hardswish: {
      const __m512 g = _mm512_mul_ps(_mm512_min_ps(_mm512_max_ps(_mm512_add_ps(x, _mm512_set1_ps(3.f)), zero),
                                                   _mm512_set1_ps(6.f)),
                                     _mm512_set1_ps(1.f / 6.f));
      return act.kind == ActKind::hardswish ? _mm512_mul_ps(x, g) : g;
    }
    case ActKind::sigmoid:
      return _mm512_div_ps(_mm512_set1_ps(1.f), sigmoid_denominator_avx512(x));
    case ActKind::silu:
      // x / (1 + e^-x): the division overlaps the polynomial, and is correctly rounded
      return _mm512_div_ps(x, sigmoid_denominator_avx512(x));
    case ActKind::leaky_relu:
      return _mm512_mask_mul_ps(x, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), x, _mm512_set1_ps(act.alpha));
    default: {
      alignas(64) float v[16];
      _mm512_store_ps(v, x);
      for (float& f : v) f = act(f);
      return _mm512_load_ps(v);
    }
  }
}

/// Lane mask for the first n (< 16 or 16) lanes.
WASTENET_AVX512 inline __mmask16 lanes_avx512(std::size_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

/// The activation with its kind fixed at compile time, so the GEMM epilogue is straight-line code
/// and the accumulators stay in registers. `generic` defers to activate_avx512 (rare kinds).
enum class EpilogueAct { identity, relu, relu6, silu, hardswish, hardsigmoid, sigmoid, generic };

/// Calls f(std::integral_constant<EpilogueAct, A>{}) with the EpilogueAct of `kind` (generic for
/// the rare kinds): a GEMM is instantiated once per activation, its epilogue fixed at compile time.
/// The AVX-512 counterpart of with_activation_avx2.
template <class F>
inline void with_epilogue_act(ActKind kind, F&& f) {
  using E = EpilogueAct;
  switch (kind) {
    case ActKind::identity: return f(std::integral_constant<E, E::identity>{});
    case ActKind::relu: return f(std::integral_constant<E, E::relu>{});
    case ActKind::relu6: return f(std::integral_constant<E, E::relu6>{});
    case ActKind::silu: return f(std::integral_constant<E, E::silu>{});
    case ActKind::hardswish: return f(std::integral_constant<E, E::hardswish>{});
    case ActKind::hardsigmoid: return f(std::integral_constant<E, E::hardsigmoid>{});
    case ActKind::sigmoid: return f(std::integral_constant<E, E::sigmoid>{});
    default: return f(std::integral_constant<E, E::generic>{});
  }
}

template <EpilogueAct A>
WASTENET_AVX512 inline __m512 activate_fixed_avx512(__m512 x, const Activation& act) {
  if constexpr (A == EpilogueAct::identity) {
    return x;
  } else if constexpr (A == EpilogueAct::relu) {
    return _mm512_max_ps(x, _mm512_setzero_ps());
  } else if constexpr (A == EpilogueAct::relu6) {
    return _mm512_min_ps(_mm512_max_ps(x, _mm512_setzero_ps()), _mm512_set1_ps(6.f));
  } else if constexpr (A == EpilogueAct::silu) {
    Activation a;
    a.kind = ActKind::silu;
    return activate_avx512(x, a);
  } else if constexpr (A == EpilogueAct::hardswish) {
    const __m512 g = _mm512_mul_ps(
        _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(x, _mm512_set1_ps(3.f)), _mm512_setzero_ps()), _mm512_set1_ps(6.f)),
        _mm512_set1_ps(1.f / 6.f));
    return _mm512_mul_ps(x, g);
  } else if constexpr (A == EpilogueAct::hardsigmoid) {
    return _mm512_mul_ps(
        _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(x, _mm512_set1_ps(3.f)), _mm512_setzero_ps()), _mm512_set1_ps(6.f)),
        _mm512_set1_ps(1.f / 6.f));
  } else if constexpr (A == EpilogueAct::sigmoid) {
    Activation a;
    a.kind = ActKind::sigmoid;
    return activate_avx512(x, a);
  } else {
    return activate_avx512(x, act);
  }
}

/// v, opaque to the optimiser, so a residual added to it is a rounding of its own. Otherwise GCC
/// (-ffp-contract=fast, its default outside ISO mode) fuses an activation that ends in a product
/// (hardswish) with the residual's add into one FMA where the code around it allows: the same
/// output then took other bits in the depthwise sweep than in the one-pixel kernel (DepthwiseSweep).
WASTENET_AVX512 inline __m512 unfused_avx512(__m512 v) {
  __asm__("" : "+v"(v));
  return v;
}

/// The epilogue of one output row of a tile: bias, activation, residual, store (masked if the panel
/// is the last, narrower one).
template <EpilogueAct A>
WASTENET_AVX512 inline void gemm_store_row_avx512(__m512 v0, __m512 v1, __m512 bias0, __m512 bias1, __mmask16 m0,
                                                  __mmask16 m1, const Activation& act, const float* res, float* c) {
  v0 = activate_fixed_avx512<A>(_mm512_add_ps(v0, bias0), act);
  v1 = activate_fixed_avx512<A>(_mm512_add_ps(v1, bias1), act);
  if (res) {
    v0 = _mm512_add_ps(unfused_avx512(v0), _mm512_maskz_loadu_ps(m0, res));
    v1 = _mm512_add_ps(unfused_avx512(v1), _mm512_maskz_loadu_ps(m1, res + 16));
  }
  _mm512_mask_storeu_ps(c, m0, v0);
  _mm512_mask_storeu_ps(c + 16, m1, v1);
}

/// The first lanes (mask m) of 16 activations as floats: FP32 loaded, binary16 widened exactly
/// (vcvtph2ps), so a kernel reads an FP16 network's tensors without a widening pass.
WASTENET_AVX512 inline __m512 load_lanes_avx512(__mmask16 m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
WASTENET_AVX512 inline __m512 load_lanes_avx512(__mmask16 m, const half* p) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
/// Stores the lanes of mask m; to binary16 with one rounding to nearest even, as float_to_half.
WASTENET_AVX512 inline void store_lanes_avx512(float* p, __mmask16 m, __m512 v) { _mm512_mask_storeu_ps(p, m, v); }
WASTENET_AVX512 inline void store_lanes_avx512(half* p, __mmask16 m, __m512 v) {
  _mm256_mask_storeu_epi16(p, m, _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/// Activation, residual and masked store of one 16-lane vector that already holds the bias; T is
/// float or half (the residual is added in FP32 before the one rounding). The residual's type is
/// taken from `c` (common_type<T> is not deduced), so callers may pass nullptr for it.
template <EpilogueAct A, class T>
WASTENET_AVX512 inline void store_vec_avx512(__m512 v, __mmask16 m, const Activation& act,
                                             const typename std::common_type<T>::type* res, T* c) {
  v = activate_fixed_avx512<A>(v, act);
  if (res) v = _mm512_add_ps(unfused_avx512(v), load_lanes_avx512(m, res));
  store_lanes_avx512(c, m, v);
}

/// 16 weights of a packed panel as floats: FP32 panels are loaded, binary16 panels (FP16 networks,
/// half the bytes) are widened by vcvtph2ps on the way in.
WASTENET_AVX512 inline __m512 load_panel16(const float* p) { return _mm512_load_ps(p); }
WASTENET_AVX512 inline __m512 load_panel16(const std::uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
}

/// Converts FP32 panels (pack_gemm_weights_avx512's layout) to binary16, rounding to nearest even.
inline void panels_to_half(const float* panels, std::size_t n, std::uint16_t* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = float_to_half_bits(panels[i]);
}

/// A share of the next weight panel for one tile to prefetch into L2: `lines` cache lines from
/// `from`, one per k. In the 7x7 and 14x14 layers each panel serves few tiles and the weights are
/// read once per image, so without this every panel's first tile waits on memory.
struct PanelPrefetch {
  const char* from = nullptr;
  std::size_t lines = 0;
};

/// Bytes per prefetched line: x86's cache line.
inline constexpr std::size_t prefetch_line_bytes = 64;

/// Tile t's share of the next panel (`bytes` long) when `tiles` tiles share the current one.
inline PanelPrefetch panel_prefetch_share(const void* next, std::size_t bytes, std::size_t t, std::size_t tiles) {
  if (!next) return {};
  const std::size_t lines = (bytes + prefetch_line_bytes - 1) / prefetch_line_bytes;
  const std::size_t share = (lines + tiles - 1) / tiles, first = t * share;
  if (first >= lines) return {};
  return {static_cast<const char*>(next) + first * prefetch_line_bytes, std::min(share, lines - first)};
}

/// One micro-tile: up to 7 rows x one 32-column panel, 14 named accumulators (arrays would be
/// spilled to the stack for the epilogue). Missing rows (rows < 7) re-read row 0 and are not stored.
template <EpilogueAct A, class PanelT>
WASTENET_AVX512 inline void f32_gemm_tile_avx512(const float* a, std::size_t lda, std::size_t rows, const PanelT* panel,
                                                 std::size_t K, float* c, std::size_t ldc, std::size_t cols,
                                                 const float* bias, const Activation& act, const float* res,
                                                 std::size_t ldr, PanelPrefetch pf = {}) {
  const float* a0 = a;
  const float* a1 = tile_row(a, lda, rows, 1);
  const float* a2 = tile_row(a, lda, rows, 2);
  const float* a3 = tile_row(a, lda, rows, 3);
  const float* a4 = tile_row(a, lda, rows, 4);
  const float* a5 = tile_row(a, lda, rows, 5);
  const float* a6 = tile_row(a, lda, rows, 6);
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00;
  for (std::size_t k = 0; k < K; ++k) {
    if (k < pf.lines) _mm_prefetch(pf.from + k * prefetch_line_bytes, _MM_HINT_T1);
    const __m512 b0 = load_panel16(panel + k * 32);
    const __m512 b1 = load_panel16(panel + k * 32 + 16);
    __m512 x = _mm512_set1_ps(a0[k]);
    c00 = _mm512_fmadd_ps(x, b0, c00);
    c01 = _mm512_fmadd_ps(x, b1, c01);
    x = _mm512_set1_ps(a1[k]);
    c10 = _mm512_fmadd_ps(x, b0, c10);
    c11 = _mm512_fmadd_ps(x, b1, c11);
    x = _mm512_set1_ps(a2[k]);
    c20 = _mm512_fmadd_ps(x, b0, c20);
    c21 = _mm512_fmadd_ps(x, b1, c21);
    x = _mm512_set1_ps(a3[k]);
    c30 = _mm512_fmadd_ps(x, b0, c30);
    c31 = _mm512_fmadd_ps(x, b1, c31);
    x = _mm512_set1_ps(a4[k]);
    c40 = _mm512_fmadd_ps(x, b0, c40);
    c41 = _mm512_fmadd_ps(x, b1, c41);
    x = _mm512_set1_ps(a5[k]);
    c50 = _mm512_fmadd_ps(x, b0, c50);
    c51 = _mm512_fmadd_ps(x, b1, c51);
    x = _mm512_set1_ps(a6[k]);
    c60 = _mm512_fmadd_ps(x, b0, c60);
    c61 = _mm512_fmadd_ps(x, b1, c61);
  }
  const __mmask16 m0 = lanes_avx512(cols), m1 = lanes_avx512(cols > 16 ? cols - 16 : 0);
  const __m512 bias0 = _mm512_maskz_loadu_ps(m0, bias), bias1 = _mm512_maskz_loadu_ps(m1, bias + 16);
  gemm_store_row_avx512<A>(c00, c01, bias0, bias1, m0, m1, act, res, c);
  if (rows > 1) gemm_store_row_avx512<A>(c10, c11, bias0, bias1, m0, m1, act, res ? res + ldr : nullptr, c + ldc);
  if (rows > 2) gemm_store_row_avx512<A>(c20, c21, bias0, bias1, m0, m1, act, res ? res + 2 * ldr : nullptr, c + 2 * ldc);
  if (rows > 3) gemm_store_row_avx512<A>(c30, c31, bias0, bias1, m0, m1, act, res ? res + 3 * ldr : nullptr, c + 3 * ldc);
  if (rows > 4) gemm_store_row_avx512<A>(c40, c41, bias0, bias1, m0, m1, act, res ? res + 4 * ldr : nullptr, c + 4 * ldc);
  if (rows > 5) gemm_store_row_avx512<A>(c50, c51, bias0, bias1, m0, m1, act, res ? res + 5 * ldr : nullptr, c + 5 * ldc);
  if (rows > 6) gemm_store_row_avx512<A>(c60, c61, bias0, bias1, m0, m1, act, res ? res + 6 * ldr : nullptr, c + 6 * ldc);
}

/// The last panel when it holds at most 16 columns (N = 16, 40, 144, ...): 12 rows x 16 columns,
/// 12 named accumulators, so no FMA is spent on the panel's zero padding and each weight vector
/// loaded serves 12 rows. Missing rows (rows < 12) re-read row 0 and are not stored.
template <EpilogueAct A, class PanelT>
WASTENET_AVX512 inline void f32_gemm_tile12x16_avx512(const float* a, std::size_t lda, std::size_t rows,
                                                      const PanelT* panel, std::size_t K, float* c, std::size_t ldc,
                                                      std::size_t cols, const float* bias, const Activation& act,
                                                      const float* res, std::size_t ldr) {
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
  __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  __m512 c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
  for (std::size_t k = 0; k < K; ++k) {
    const __m512 b = load_panel16(panel + k * 32);
    c0 = _mm512_fmadd_ps(_mm512_set1_ps(a0[k]), b, c0);
    c1 = _mm512_fmadd_ps(_mm512_set1_ps(a1[k]), b, c1);
    c2 = _mm512_fmadd_ps(_mm512_set1_ps(a2[k]), b, c2);
    c3 = _mm512_fmadd_ps(_mm512_set1_ps(a3[k]), b, c3);
    c4 = _mm512_fmadd_ps(_mm512_set1_ps(a4[k]), b, c4);
    c5 = _mm512_fmadd_ps(_mm512_set1_ps(a5[k]), b, c5);
    c6 = _mm512_fmadd_ps(_mm512_set1_ps(a6[k]), b, c6);
    c7 = _mm512_fmadd_ps(_mm512_set1_ps(a7[k]), b, c7);
    c8 = _mm512_fmadd_ps(_mm512_set1_ps(a8[k]), b, c8);
    c9 = _mm512_fmadd_ps(_mm512_set1_ps(a9[k]), b, c9);
    c10 = _mm512_fmadd_ps(_mm512_set1_ps(a10[k]), b, c10);
    c11 = _mm512_fmadd_ps(_mm512_set1_ps(a11[k]), b, c11);
  }
  const __mmask16 m = lanes_avx512(cols);
  const __m512 bias0 = _mm512_maskz_loadu_ps(m, bias);
  const __m512 acc[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
  for (std::size_t r = 0; r < rows; ++r) {
    store_vec_avx512<A>(_mm512_add_ps(acc[r], bias0), m, act, res ? res + r * ldr : nullptr, c + r * ldc);
  }
}

/// A single row times NP (1 to 4) consecutive panels: the matrix-vector products of the squeeze-and-
/// excitation and classifier layers, where a 7-row tile would spend 6 of every 7 FMAs on copies of
/// the row. The panels side by side give 2 x NP independent chains instead. Each output still sums
/// its K products in order from zero and then adds the bias, as in the tiles, so the bits are the same.
template <EpilogueAct A, std::size_t NP, class PanelT>
WASTENET_AVX512 inline void f32_gemv_panels_avx512(const float* a, const PanelT* panel, std::size_t K, std::size_t N,
                                                   std::size_t col, float* c, const float* bias, const Activation& act,
                                                   const float* res) {
  static_assert(NP >= 1 && NP <= 4, "one to four panels");
  const PanelT* p1 = panel + K * 32;
  const PanelT* p2 = panel + 2 * K * 32;
  const PanelT* p3 = panel + 3 * K * 32;
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (std::size_t k = 0; k < K; ++k) {
    const __m512 x = _mm512_set1_ps(a[k]);
    c00 = _mm512_fmadd_ps(x, load_panel16(panel + k * 32), c00);
    c01 = _mm512_fmadd_ps(x, load_panel16(panel + k * 32 + 16), c01);
    if constexpr (NP > 1) {
      c10 = _mm512_fmadd_ps(x, load_panel16(p1 + k * 32), c10);
      c11 = _mm512_fmadd_ps(x, load_panel16(p1 + k * 32 + 16), c11);
    }
    if constexpr (NP > 2) {
      c20 = _mm512_fmadd_ps(x, load_panel16(p2 + k * 32), c20);
      c21 = _mm512_fmadd_ps(x, load_panel16(p2 + k * 32 + 16), c21);
    }
    if constexpr (NP > 3) {
      c30 = _mm512_fmadd_ps(x, load_panel16(p3 + k * 32), c30);
      c31 = _mm512_fmadd_ps(x, load_panel16(p3 + k * 32 + 16), c31);
    }
  }
  const __m512 acc[8] = {c00, c01, c10, c11, c20, c21, c30, c31};
  for (std::size_t j = 0; j < NP; ++j) {
    const std::size_t at = col + j * 32, cols = std::min<std::size_t>(32, N - at);
    const __mmask16 m0 = lanes_avx512(cols), m1 = lanes_avx512(cols > 16 ? cols - 16 : 0);
    gemm_store_row_avx512<A>(acc[2 * j], acc[2 * j + 1], _mm512_maskz_loadu_ps(m0, bias + at),
                             _mm512_maskz_loadu_ps(m1, bias + at + 16), m0, m1, act, res ? res + at : nullptr, c + at);
  }
}

template <EpilogueAct A, class PanelT>
WASTENET_AVX512 inline void f32_gemm_rows_avx512(const float* a, float* c, std::size_t r0, std::size_t r1, std::size_t K,
                                                 std::size_t N, const PanelT* packed, const float* bias,
                                                 const Activation& act, const float* residual) {
  const std::size_t panels = (N + 31) / 32;
  if (r1 - r0 == 1) {  // one row: four panels at a time
    const float* x = a + r0 * K;
    float* y = c + r0 * N;
    const float* res = residual ? residual + r0 * N : nullptr;
    std::size_t p = 0;
    for (; p + 4 <= panels; p += 4) f32_gemv_panels_avx512<A, 4>(x, packed + p * K * 32, K, N, p * 32, y, bias, act, res);
    switch (panels - p) {
      case 3: f32_gemv_panels_avx512<A, 3>(x, packed + p * K * 32, K, N, p * 32, y, bias, act, res); break;
      case 2: f32_gemv_panels_avx512<A, 2>(x, packed + p * K * 32, K, N, p * 32, y, bias, act, res); break;
      case 1: f32_gemv_panels_avx512<A, 1>(x, packed + p * K * 32, K, N, p * 32, y, bias, act, res); break;
      default: break;
    }
    return;
  }
  // Panels outermost within a row block: a panel (K x 32 floats) stays in L1/L2 while the rows stream.
  // 84 rows: whole 7x32 and 12x16 tiles.
  constexpr std::size_t row_block = 84;
  for (std::size_t rb = r0; rb < r1; rb += row_block) {
    const std::size_t re = std::min(r1, rb + row_block);
    const std::size_t tiles = (re - rb + avx512_gemm_mr - 1) / avx512_gemm_mr;
    for (std::size_t p = 0; p < panels; ++p) {
      const PanelT* panel = packed + p * K * 32;
      const std::size_t col = p * 32, cols = std::min<std::size_t>(32, N - col);
      if (cols <= 16) {
        for (std::size_t r = rb; r < re; r += 12) {
          f32_gemm_tile12x16_avx512<A>(a + r * K, K, std::min<std::size_t>(12, re - r), panel, K, c + r * N + col, N,
                                       cols, bias + col, act, residual ? residual + r * N + col : nullptr, N);
        }
        continue;
      }
      const PanelT* next = p + 1 < panels ? panel + K * 32 : nullptr;
      for (std::size_t r = rb, t = 0; r < re; r += avx512_gemm_mr, ++t) {
        f32_gemm_tile_avx512<A>(a + r * K, K, std::min(avx512_gemm_mr, re - r), panel, K, c + r * N + col, N, cols,
                                bias + col, act, residual ? residual + r * N + col : nullptr, N,
                                panel_prefetch_share(next, K * 32 * sizeof(PanelT), t, tiles));
      }
    }
  }
}

/// The activation over n contiguous floats in place, four vectors at a time (independent chains).
template <EpilogueAct A>
WASTENET_AVX512 inline void activate_in_place_avx512(float* p, std::size_t n, const Activation& act) {
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512 v0 = activate_fixed_avx512<A>(_mm512_loadu_ps(p + i), act);
    const __m512 v1 = activate_fixed_avx512<A>(_mm512_loadu_ps(p + i + 16), act);
    const __m512 v2 = activate_fixed_avx512<A>(_mm512_loadu_ps(p + i + 32), act);
    const __m512 v3 = activate_fixed_avx512<A>(_mm512_loadu_ps(p + i + 48), act);
    _mm512_storeu_ps(p + i, v0);
    _mm512_storeu_ps(p + i + 16, v1);
    _mm512_storeu_ps(p + i + 32, v2);
    _mm512_storeu_ps(p + i + 48, v3);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = lanes_avx512(n - i);
    _mm512_mask_storeu_ps(p + i, m, activate_fixed_avx512<A>(_mm512_maskz_loadu_ps(m, p + i), act));
  }
}

/// C[r0:r1, :N] = act(A[r0:r1, :K] * W + bias) [+ residual], W packed by pack_gemm_weights_avx512
/// (FP32 panels, or binary16 panels from panels_to_half).
template <class PanelT>
WASTENET_AVX512 inline void f32_gemm_7x32_avx512(const float* a, float* c, std::size_t r0, std::size_t r1, std::size_t K,
                                                 std::size_t N, const PanelT* packed, const float* bias,
                                                 const Activation& act, const float* residual) {
  with_epilogue_act(act.kind, [&](auto e) {
    f32_gemm_rows_avx512<decltype(e)::value, PanelT>(a, c, r0, r1, K, N, packed, bias, act, residual);
  });
}

/// Input channels up to which f32_conv_direct_avx512 is used (the RGB stem).
inline constexpr std::size_t avx512_direct_max_cin = 4;

/// Packs PyTorch weights [oc][cin][kh][kw] for f32_conv_direct_avx512: [oc/16][kh][kw][cin][16].
inline void pack_direct_weights_avx512(const float* w, std::size_t oc, std::size_t cin, std::size_t kh, std::size_t kw,
                                       float* packed) {
  const std::size_t taps = kh * kw * cin, blocks = (oc + 15) / 16;
  for (std::size_t b = 0; b < blocks; ++b)
    for (std::size_t ky = 0; ky < kh; ++ky)
      for (std::size_t kx = 0; kx < kw; ++kx)
        for (std::size_t ci = 0; ci < cin; ++ci)
          for (std::size_t j = 0; j < 16; ++j) {
            const std::size_t o = b * 16 + j, t = (ky * kw + kx) * cin + ci;
            packed[(b * taps + t) * 16 + j] = o < oc ? w[((o * cin + ci) * kh + ky) * kw + kx] : 0.f;
          }
}

/// f32_conv_direct_avx512's border: output pixels [px0, px1) of one row and one 16-channel block,
/// one at a time, taps outside the image skipped.
template <EpilogueAct A>
WASTENET_AVX512 inline void f32_conv_direct_pixels_avx512(const ConvGeometry& g, const float* in_n, std::ptrdiff_t iy0,
                                                          std::size_t px0, std::size_t px1, const float* wb, __m512 bv,
                                                          __mmask16 m, const Activation& act, float* orow,
                                                          const float* rrow) {
  const std::size_t C = g.c, W = g.w, OC = g.oc, KH = g.kh, KW = g.kw;
  const auto iH = static_cast<std::ptrdiff_t>(g.h), iW = static_cast<std::ptrdiff_t>(W);
  for (std::size_t px = px0; px < px1; ++px) {
    const std::ptrdiff_t ixf = static_cast<std::ptrdiff_t>(px * g.sw) - static_cast<std::ptrdiff_t>(g.pw);
    __m512 acc = bv;
    for (std::size_t ky = 0; ky < KH; ++ky) {
      const std::ptrdiff_t iy = iy0 + static_cast<std::ptrdiff_t>(ky * g.dh);
      if (iy < 0 || iy >= iH) continue;
      for (std::size_t kx = 0; kx < KW; ++kx) {
        const std::ptrdiff_t ix = ixf + static_cast<std::ptrdiff_t>(kx * g.dw);
        if (ix < 0 || ix >= iW) continue;
        const float* x = in_n + (static_cast<std::size_t>(iy) * W + static_cast<std::size_t>(ix)) * C;
        for (std::size_t ci = 0; ci < C; ++ci) {
          acc = _mm512_fmadd_ps(_mm512_set1_ps(x[ci]), _mm512_load_ps(wb + ((ky * KW + kx) * C + ci) * 16), acc);
        }
      }
    }
    store_vec_avx512<A>(acc, m, act, rrow ? rrow + px * OC : nullptr, orow + px * OC);
  }
}

/// f32_conv_direct_avx512's interior: output pixels [ox, ox + 8) of one row and one 16-channel
/// block (two blocks, 16 accumulators, when Pair: each broadcast input value then feeds two FMAs,
/// and the loads no longer outnumber them), whose horizontal taps are all inside the image: eight
/// independent FMA chains per block, each in the same tap order as the pixel-by-pixel path (so
/// either path gives the same bits). The second block's weights, bias, mask and output follow the
/// first's at +taps*16, +16 and +16.
/// Fixed (non-zero) KHf, KWf and Cf make the tap loops' bounds constants, as for the 3x3 RGB stem
/// of every torchvision classifier: the 27 taps unrolled, without a loop per input channel of 3.
template <EpilogueAct A, bool Pair, std::size_t KHf = 0, std::size_t KWf = 0, std::size_t Cf = 0>
WASTENET_AVX512 inline void f32_conv_direct_block8_avx512(const ConvGeometry& g, const float* in_n, std::ptrdiff_t iy0,
                                                          std::size_t ox, const float* wb, __m512 bv, __m512 bv2,
                                                          __mmask16 m, __mmask16 m2, const Activation& act, float* orow,
                                                          const float* rrow) {
  const std::size_t C = Cf ? Cf : g.c, W = g.w, OC = g.oc, KH = KHf ? KHf : g.kh, KW = KWf ? KWf : g.kw;
  const std::size_t step = g.sw * C, DH = KHf ? 1 : g.dh, DW = KWf ? 1 : g.dw;  // fixed taps: undilated
  const std::size_t taps16 = KH * KW * C * 16;
  const auto iH = static_cast<std::ptrdiff_t>(g.h);
  const std::ptrdiff_t ix_first = static_cast<std::ptrdiff_t>(ox * g.sw) - static_cast<std::ptrdiff_t>(g.pw);
  __m512 a0 = bv, a1 = bv, a2 = bv, a3 = bv, a4 = bv, a5 = bv, a6 = bv, a7 = bv;
  __m512 b0 = bv2, b1 = bv2, b2 = bv2, b3 = bv2, b4 = bv2, b5 = bv2, b6 = bv2, b7 = bv2;
  for (std::size_t ky = 0; ky < KH; ++ky) {
    const std::ptrdiff_t iy = iy0 + static_cast<std::ptrdiff_t>(ky * DH);
    if (iy < 0 || iy >= iH) continue;
    const float* ip = in_n + (static_cast<std::size_t>(iy) * W + static_cast<std::size_t>(ix_first)) * C;
    for (std::size_t kx = 0; kx < KW; ++kx) {
      for (std::size_t ci = 0; ci < C; ++ci) {
        const float* wt = wb + ((ky * KW + kx) * C + ci) * 16;
        const __m512 w = _mm512_load_ps(wt);
        const float* x = ip + kx * DW * C + ci;
        if constexpr (Pair) {
          const __m512 w2 = _mm512_load_ps(wt + taps16);
          __m512 v = _mm512_set1_ps(x[0]);
          a0 = _mm512_fmadd_ps(v, w, a0), b0 = _mm512_fmadd_ps(v, w2, b0);
          v = _mm512_set1_ps(x[step]);
          a1 = _mm512_fmadd_ps(v, w, a1), b1 = _mm512_fmadd_ps(v, w2, b1);
          v = _mm512_set1_ps(x[2 * step]);
          a2 = _mm512_fmadd_ps(v, w, a2), b2 = _mm512_fmadd_ps(v, w2, b2);
          v = _mm512_set1_ps(x[3 * step]);
          a3 = _mm512_fmadd_ps(v, w, a3), b3 = _mm512_fmadd_ps(v, w2, b3);
          v = _mm512_set1_ps(x[4 * step]);
          a4 = _mm512_fmadd_ps(v, w, a4), b4 = _mm512_fmadd_ps(v, w2, b4);
          v = _mm512_set1_ps(x[5 * step]);
          a5 = _mm512_fmadd_ps(v, w, a5), b5 = _mm512_fmadd_ps(v, w2, b5);
          v = _mm512_set1_ps(x[6 * step]);
          a6 = _mm512_fmadd_ps(v, w, a6), b6 = _mm512_fmadd_ps(v, w2, b6);
          v = _mm512_set1_ps(x[7 * step]);
          a7 = _mm512_fmadd_ps(v, w, a7), b7 = _mm512_fmadd_ps(v, w2, b7);
        } else {
          a0 = _mm512_fmadd_ps(_mm512_set1_ps(x[0]), w, a0);
          a1 = _mm512_fmadd_ps(_mm512_set1_ps(x[step]), w, a1);
          a2 = _mm512_fmadd_ps(_mm512_set1_ps(x[2 * step]), w, a2);
          a3 = _mm512_fmadd_ps(_mm512_set1_ps(x[3 * step]), w, a3);
          a4 = _mm512_fmadd_ps(_mm512_set1_ps(x[4 * step]), w, a4);
          a5 = _mm512_fmadd_ps(_mm512_set1_ps(x[5 * step]), w, a5);
          a6 = _mm512_fmadd_ps(_mm512_set1_ps(x[6 * step]), w, a6);
          a7 = _mm512_fmadd_ps(_mm512_set1_ps(x[7 * step]), w, a7);
        }
      }
    }
  }
  float* o = orow + ox * OC;
  const float* r = rrow ? rrow + ox * OC : nullptr;
  const __m512 va[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
  for (std::size_t j = 0; j < 8; ++j) store_vec_avx512<A>(va[j], m, act, r ? r + j * OC : nullptr, o + j * OC);
  if constexpr (Pair) {
    const __m512 vb[8] = {b0, b1, b2, b3, b4, b5, b6, b7};
    for (std::size_t j = 0; j < 8; ++j) {
      store_vec_avx512<A>(vb[j], m2, act, r ? r + j * OC + 16 : nullptr, o + j * OC + 16);
    }
  }
}

/// Direct convolution for few input channels (the stem): no im2col copy, 8 output pixels of one
/// row at a time, each a broadcast of one input value times a 16-channel weight vector per tap,
/// two 16-channel blocks at a time where there are two. Blocks of 8 pixels whose taps are all
/// inside the image take the unchecked path.
template <EpilogueAct A>
WASTENET_AVX512 inline void f32_conv_direct_avx512(const ConvGeometry& g, const float* in, float* out, std::size_t row0,
                                                   std::size_t row1, const float* packed, const float* bias,
                                                   const Activation& act, const float* residual) {
  const std::size_t C = g.c, H = g.h, W = g.w, OH = g.oh, OW = g.ow, OC = g.oc, KW = g.kw;
  const std::size_t SH = g.sh, SW = g.sw, PH = g.ph, PW = g.pw, DW = g.dw;
  const std::size_t taps = g.kh * KW * C, blocks = (OC + 15) / 16;
  const auto iW = static_cast<std::ptrdiff_t>(W);
  // Whether output pixels [ox, ox + 8) have all their horizontal taps inside the image.
  auto inside8 = [&](std::size_t ox) {
    const std::ptrdiff_t ix_first = static_cast<std::ptrdiff_t>(ox * SW) - static_cast<std::ptrdiff_t>(PW);
    return ix_first >= 0 && ix_first + static_cast<std::ptrdiff_t>(7 * SW + (KW - 1) * DW) < iW;
  };
  const std::size_t ox_lo = std::min(OW, (PW + SW - 1) / SW);
  const bool rgb3x3 = C == 3 && g.kh == 3 && KW == 3 && g.dh == 1 && DW == 1;
  for (std::size_t row = row0; row < row1; ++row) {
    const std::size_t n = row / OH, oy = row % OH;
    const std::ptrdiff_t iy0 = static_cast<std::ptrdiff_t>(oy * SH) - static_cast<std::ptrdiff_t>(PH);
    const float* in_n = in + n * H * W * C;
    for (std::size_t b = 0; b < blocks;) {
      const std::size_t nb = b + 1 < blocks ? 2 : 1;  // 16-channel blocks this pass
      const __mmask16 m = lanes_avx512(OC - b * 16), m2 = nb == 2 ? lanes_avx512(OC - b * 16 - 16) : 0;
      const __m512 bv = _mm512_maskz_loadu_ps(m, bias + b * 16), bv2 = _mm512_maskz_loadu_ps(m2, bias + b * 16 + 16);
      const float* wb = packed + b * taps * 16;
      float* orow = out + (row * OW) * OC + b * 16;
      const float* rrow = residual ? residual + (row * OW) * OC + b * 16 : nullptr;
      // The lambdas carry the target too: Clang does not give a lambda its enclosing function's,
      // and passing __m512 to the kernels without AVX-512F enabled is an ABI error there.
      auto block8 = [&](std::size_t x) WASTENET_AVX512 {
        if (rgb3x3 && nb == 2) {
          f32_conv_direct_block8_avx512<A, true, 3, 3, 3>(g, in_n, iy0, x, wb, bv, bv2, m, m2, act, orow, rrow);
        } else if (rgb3x3) {
          f32_conv_direct_block8_avx512<A, false, 3, 3, 3>(g, in_n, iy0, x, wb, bv, bv2, m, m2, act, orow, rrow);
        } else if (nb == 2) {
          f32_conv_direct_block8_avx512<A, true>(g, in_n, iy0, x, wb, bv, bv2, m, m2, act, orow, rrow);
        } else {
          f32_conv_direct_block8_avx512<A, false>(g, in_n, iy0, x, wb, bv, bv2, m, m2, act, orow, rrow);
        }
      };
      // Pixels [x0, x1) one at a time, in each block.
      auto pixels = [&](std::size_t x0, std::size_t x1) WASTENET_AVX512 {
        f32_conv_direct_pixels_avx512<A>(g, in_n, iy0, x0, x1, wb, bv, m, act, orow, rrow);
        if (nb == 2) {
          f32_conv_direct_pixels_avx512<A>(g, in_n, iy0, x0, x1, wb + taps * 16, bv2, m2, act, orow + 16,
                                           rrow ? rrow + 16 : nullptr);
        }
      };
      // Left border pixel by pixel, then blocks of 8 while all their taps are inside.
      pixels(0, ox_lo);
      std::size_t ox = ox_lo;
      for (; ox + 8 <= OW && inside8(ox); ox += 8) block8(ox);
      // The row's last few pixels: one more block of 8 ending at the row's end if its taps are
      // inside. It recomputes some of the previous block's pixels and stores the same values (not
      // with a residual, which could be the output itself), and beats one latency-bound chain per
      // pixel: the stems' rows are 112 = 1 + 13 x 8 + 7 pixels.
      if (ox < OW && !rrow && OW >= ox_lo + 8 && inside8(OW - 8)) {
        block8(OW - 8);
        ox = OW;
      }
      pixels(ox, OW);
      b += nb;
    }
  }
}

/// Dispatches f32_conv_direct_avx512 on the activation.
WASTENET_AVX512 inline void f32_conv_direct_any_avx512(const ConvGeometry& g, const float* in, float* out,
                                                       std::size_t row0, std::size_t row1, const float* packed,
                                                       const float* bias, const Activation& act, const float* residual) {
  switch (act.kind) {
    case ActKind::identity: return f32_conv_direct_avx512<EpilogueAct::identity>(g, in, out, row0, row1, packed, bias, act, residual);
    case ActKind::relu: return f32_conv_direct_avx512<EpilogueAct::relu>(g, in, out, row0, row1, packed, bias, act, residual);
    case ActKind::relu6: return f32_conv_direct_avx512<EpilogueAct::relu6>(g, in, out, row0, row1, packed, bias, act, residual);
    case ActKind::silu:
      if (!residual) {  // SiLU as a pass over each finished row (see f32_dwconv_fixed_any_avx512)
        for (std::size_t row = row0; row < row1; ++row) {
          f32_conv_direct_avx512<EpilogueAct::identity>(g, in, out, row, row + 1, packed, bias, act, nullptr);
          activate_in_place_avx512<EpilogueAct::silu>(out + row * g.ow * g.oc, g.ow * g.oc, act);
        }
        return;
      }
      return f32_conv_direct_avx512<EpilogueAct::silu>(g, in, out, row0, row1, packed, bias, act, residual);
    case ActKind::hardswish: return f32_conv_direct_avx512<EpilogueAct::hardswish>(g, in, out, row0, row1, packed, bias, act, residual);
    default: return f32_conv_direct_avx512<EpilogueAct::generic>(g, in, out, row0, row1, packed, bias, act, residual);
  }
}

/// One depthwise output pixel (16 channels from c) with bounds-checked taps: the image border.
template <std::size_t KH, std::size_t KW, EpilogueAct A, class InT, class OutT>
WASTENET_AVX512 inline void dwconv_pixel_avx512(const InT* in_n, std::size_t W, std::size_t C, std::size_t H,
                                                std::ptrdiff_t iy0, std::size_t ox, std::size_t SW, std::size_t PW,
                                                std::size_t c, __mmask16 m, const __m512* w, __m512 b,
                                                const Activation& act, const OutT* res_row, OutT* out_row) {
  const auto iH = static_cast<std::ptrdiff_t>(H), iW = static_cast<std::ptrdiff_t>(W);
  const std::ptrdiff_t ix0 = static_cast<std::ptrdiff_t>(ox * SW) - static_cast<std::ptrdiff_t>(PW);
  __m512 acc = b;
  for (std::size_t ky = 0; ky < KH; ++ky) {
    const std::ptrdiff_t iy = iy0 + static_cast<std::ptrdiff_t>(ky);
    if (iy < 0 || iy >= iH) continue;
    for (std::size_t kx = 0; kx < KW; ++kx) {
      const std::ptrdiff_t ix = ix0 + static_cast<std::ptrdiff_t>(kx);
      if (ix < 0 || ix >= iW) continue;
      const InT* ip = in_n + (static_cast<std::size_t>(iy) * W + static_cast<std::size_t>(ix)) * C + c;
      acc = _mm512_fmadd_ps(load_lanes_avx512(m, ip), w[ky * KW + kx], acc);
    }
  }
  store_vec_avx512<A>(acc, m, act, res_row ? res_row + ox * C + c : nullptr, out_row + ox * C + c);
}

/// Channels [c, c + 16) of J (1 to 4) adjacent output pixels whose taps lie inside the image
/// horizontally, for horizontal stride SW, over the kernel rows [ky0, ky1) that lie inside it
/// vertically: per kernel row each input pixel is loaded once and meets every weight that reads
/// it, (J - 1) * SW + KW loads per J * KW FMAs instead of one load per FMA, from one pointer
/// stepping by C. Input i feeds output j through tap kx = i - j * SW, so i ascending is kx
/// ascending for every output: each sums bias, then its taps in [ky][kx] order, skipping the rows
/// outside, which are the bits of dwconv_pixel_avx512. `ip` is the first output's leftmost tap in
/// kernel row ky0; `wp` and `bias` are at channel c (weights [KH*KW][wstride], in L1).
template <std::size_t KH, std::size_t KW, std::size_t SW, std::size_t J, EpilogueAct A, class InT, class OutT>
WASTENET_AVX512 inline void dwconv_sweep_avx512(const InT* ip, std::size_t ky0, std::size_t ky1, std::size_t W,
                                                std::size_t C, __mmask16 m, const float* wp, std::size_t wstride,
                                                const float* bias, const Activation& act, const OutT* res, OutT* out) {
  static_assert(J >= 1 && J <= 4, "one to four pixels");
  constexpr std::size_t inputs = (J - 1) * SW + KW;
  const __m512 b = _mm512_maskz_loadu_ps(m, bias);
  __m512 acc[J];
#pragma GCC unroll 8
  for (std::size_t j = 0; j < J; ++j) acc[j] = b;
#pragma GCC unroll 8
  for (std::size_t ky = 0; ky < KH; ++ky) {
    if (ky < ky0 || ky >= ky1) continue;
    __m512 w[KW];
#pragma GCC unroll 8
    for (std::size_t kx = 0; kx < KW; ++kx) w[kx] = _mm512_load_ps(wp + (ky * KW + kx) * wstride);
    const InT* p = ip + (ky - ky0) * W * C;
#pragma GCC unroll 32
    for (std::size_t i = 0; i < inputs; ++i) {
      if (i > 0) p += C;  // not after the last input: that could point past the tensor
      // An opaque step: otherwise GCC hoists the tap offsets out of the caller's channel loop,
      // spills them, and reloads one per load.
      __asm__("" : "+r"(p));
      const __m512 x = load_lanes_avx512(m, p);
#pragma GCC unroll 8
      for (std::size_t j = 0; j < J; ++j) {
        if (i >= j * SW && i - j * SW < KW) acc[j] = _mm512_fmadd_ps(x, w[i - j * SW], acc[j]);
      }
    }
  }
#pragma GCC unroll 8
  for (std::size_t j = 0; j < J; ++j) store_vec_avx512<A>(acc[j], m, act, res ? res + j * C : nullptr, out + j * C);
}

/// Output pixels [ox, ox + J) of one row, all channels: dwconv_sweep_avx512 per 16 channels, the
/// full blocks with a constant mask (the compilers then drop it and fold the loads into the FMAs;
/// a zero-masking load is two micro-ops), then the last partial block.
template <std::size_t KH, std::size_t KW, std::size_t SW, std::size_t J, EpilogueAct A, class InT, class OutT>
WASTENET_AVX512 inline void dwconv_sweep_channels_avx512(const InT* ip, std::size_t ky0, std::size_t ky1, std::size_t W,
                                                         std::size_t C, const float* packed_w, std::size_t wstride,
                                                         const float* bias, const Activation& act, const OutT* res,
                                                         OutT* out) {
  std::size_t c = 0;
  for (; c + 16 <= C; c += 16) {
    dwconv_sweep_avx512<KH, KW, SW, J, A>(ip + c, ky0, ky1, W, C, __mmask16(0xFFFF), packed_w + c, wstride, bias + c,
                                          act, res ? res + c : nullptr, out + c);
  }
  if (c < C) {
    dwconv_sweep_avx512<KH, KW, SW, J, A>(ip + c, ky0, ky1, W, C, lanes_avx512(C - c), packed_w + c, wstride, bias + c,
                                          act, res ? res + c : nullptr, out + c);
  }
}

/// Depthwise convolution with a compile-time kernel size (3x3, 5x5) and dilation 1. The columns
/// whose taps lie inside the image horizontally are swept 4 pixels at a time (then the 1 to 3
/// left), pixel-major: all channels of a block before the next, so the input is read in address
/// order; kernel rows outside the image are skipped. It replaced channel-major blocks of 4 pixels
/// (16 channels across the whole row, then the next 16; one load per FMA, each tap addressed
/// apart): mobilenet_v2's 3x3 layers on 28x28x192 went from 57 to 44-48 us, on 14x14x384 from 27
/// to 19-21 (docs/BENCHMARKS.md, stop 36). That is still 3-4x the time their FMAs need at the
/// measured peak. The border columns take the bounds-checked one-pixel path, as do all columns
/// for horizontal strides other than 1 and 2.
/// The activation is fixed at compile time like the GEMM epilogue's: a runtime switch per stored
/// vector kept its constants out of registers.
/// InT and OutT are float or half: FP16 networks' tensors are widened in registers as they are
/// loaded and rounded once as they are stored, so the values are those of the FP32 kernel run on
/// widened rows and rounded afterwards, without those passes through memory.
template <std::size_t KH, std::size_t KW, EpilogueAct A, class InT, class OutT>
WASTENET_AVX512 inline void f32_dwconv_fixed_avx512(const ConvGeometry& g, const InT* in, OutT* out, std::size_t row0,
                                                    std::size_t row1, const float* packed_w, std::size_t wstride,
                                                    const float* bias, const Activation& act,
                                                    const typename std::common_type<OutT>::type* residual) {
  // Locals, not g's fields: stores through `out` would otherwise force reloads in the inner loop.
  const std::size_t C = g.c, H = g.h, W = g.w, OH = g.oh, OW = g.ow, SH = g.sh, SW = g.sw, PH = g.ph, PW = g.pw;
  const auto iH = static_cast<std::ptrdiff_t>(H);
  const ColumnRange inside = inside_columns(g);  // undilated here, g.kw == KW
  const std::size_t ox_lo = inside.first, ox_hi = inside.last;  // not a structured binding: the lambdas use them
  const bool sweeps = SW == 1 || SW == 2;  // dwconv_sweep_avx512's strides
  for (std::size_t row = row0; row < row1; ++row) {
    const std::size_t n = row / OH, oy = row % OH;
    const std::ptrdiff_t iy0 = static_cast<std::ptrdiff_t>(oy * SH) - static_cast<std::ptrdiff_t>(PH);
    std::size_t ky0 = 0, ky1 = KH;  // kernel rows inside the image
    while (ky0 < ky1 && iy0 + static_cast<std::ptrdiff_t>(ky0) < 0) ++ky0;
    while (ky1 > ky0 && iy0 + static_cast<std::ptrdiff_t>(ky1) > iH) --ky1;
    // Columns [ox_lo, swept_end) are swept (none if no kernel row lies inside the image).
    const std::size_t swept_end = sweeps && ky0 < ky1 ? ox_hi : ox_lo;
    const InT* in_n = in + n * H * W * C;
    OutT* out_row = out + row * OW * C;
    const OutT* res_row = residual ? residual + row * OW * C : nullptr;
    for (std::size_t c = 0; c < C; c += 16) {  // the columns not swept, one pixel at a time
      const __mmask16 m = lanes_avx512(C - c);
      __m512 w[KH * KW];
      for (std::size_t t = 0; t < KH * KW; ++t) w[t] = _mm512_load_ps(packed_w + t * wstride + c);
      const __m512 b = _mm512_maskz_loadu_ps(m, bias + c);
      for (std::size_t ox = 0; ox < OW; ++ox) {
        if (ox == ox_lo) ox = swept_end;
        if (ox == OW) break;
        dwconv_pixel_avx512<KH, KW, A>(in_n, W, C, H, iy0, ox, SW, PW, c, m, w, b, act, res_row, out_row);
      }
    }
    if (swept_end == ox_lo) continue;
    const auto sweep = [&](auto sw) WASTENET_AVX512 {
      constexpr std::size_t S = decltype(sw)::value;
      const auto pixels = [&](std::size_t ox, auto j) WASTENET_AVX512 {
        const InT* ip = in_n + ((static_cast<std::size_t>(iy0 + static_cast<std::ptrdiff_t>(ky0))) * W + ox * S - PW) * C;
        dwconv_sweep_channels_avx512<KH, KW, S, decltype(j)::value, A>(ip, ky0, ky1, W, C, packed_w, wstride, bias, act,
                                                                       res_row ? res_row + ox * C : nullptr,
                                                                       out_row + ox * C);
      };
      std::size_t ox = ox_lo;
      for (; ox + 4 <= swept_end; ox += 4) pixels(ox, std::integral_constant<std::size_t, 4>{});
      switch (swept_end - ox) {
        case 3: pixels(ox, std::integral_constant<std::size_t, 3>{}); break;
        case 2: pixels(ox, std::integral_constant<std::size_t, 2>{}); break;
        case 1: pixels(ox, std::integral_constant<std::size_t, 1>{}); break;
        default: break;
      }
    };
    if (SW == 1) sweep(std::integral_constant<std::size_t, 1>{});
    else sweep(std::integral_constant<std::size_t, 2>{});
  }
}

/// f32_dwconv_fixed_avx512 with the activation chosen once per call.
template <std::size_t KH, std::size_t KW, class InT, class OutT>
WASTENET_AVX512 inline void f32_dwconv_fixed_any_avx512(const ConvGeometry& g, const InT* in, OutT* out,
                                                        std::size_t row0, std::size_t row1, const float* packed_w,
                                                        std::size_t wstride, const float* bias, const Activation& act,
                                                        const typename std::common_type<OutT>::type* residual) {
  const auto run = [&](auto a, std::size_t r0, std::size_t r1, const OutT* res) WASTENET_AVX512 {
    f32_dwconv_fixed_avx512<KH, KW, decltype(a)::value>(g, in, out, r0, r1, packed_w, wstride, bias, act, res);
  };
  using E = EpilogueAct;
  switch (act.kind) {
    case ActKind::identity: return run(std::integral_constant<E, E::identity>{}, row0, row1, residual);
    case ActKind::relu: return run(std::integral_constant<E, E::relu>{}, row0, row1, residual);
    case ActKind::relu6: return run(std::integral_constant<E, E::relu6>{}, row0, row1, residual);
    case ActKind::hardswish: return run(std::integral_constant<E, E::hardswish>{}, row0, row1, residual);
    case ActKind::silu:
      // SiLU as a second pass over each finished output row, which is still in L1. Inlined in the
      // kernel, its constants beside the weight vectors spilled (efficientnet_b0 8% slower); on
      // the generic path, one vector at a time, each store waited on exp's latency chain. The
      // values are the same: the kernel stores bias + taps, the pass applies the same SiLU. A
      // binary16 output cannot take the pass (it would round twice): SiLU is inlined there.
      if constexpr (std::is_same_v<OutT, float>) {
        if (!residual) {
          for (std::size_t row = row0; row < row1; ++row) {
            run(std::integral_constant<E, E::identity>{}, row, row + 1, nullptr);
            activate_in_place_avx512<EpilogueAct::silu>(out + row * g.ow * g.oc, g.ow * g.oc, act);
          }
          return;
        }
                // generic, not silu: with silu inlined before the residual's add, the FP32 bits changed
        // (Fp16DepthwiseHasTheBitsOfFp32OnWidenedValuesRounded caught it). That was when SiLU ended
        // in a product, which GCC may contract with the add; it now ends in a division, which it
        // may not, but inlining it here has not been tried since.
        return run(std::integral_constant<E, E::generic>{}, row0, row1, residual);
      } else {
        return run(std::integral_constant<E, E::silu>{}, row0, row1, residual);
      }
    default: return run(std::integral_constant<E, E::generic>{}, row0, row1, residual);
  }
}

/// Depthwise convolution on output rows [row0, row1) (a row is one (n, oy)); weights [kh*kw][C]
/// padded to a multiple of 16 channels.
WASTENET_AVX512 inline void f32_dwconv_avx512(const ConvGeometry& g, const float* in, float* out, std::size_t row0,
                                              std::size_t row1, const float* packed_w, std::size_t wstride,
                                              const float* bias, const Activation& act, const float* residual) {
  const std::size_t C = g.c;
  const auto H = static_cast<std::ptrdiff_t>(g.h), W = static_cast<std::ptrdiff_t>(g.w);
  for (std::size_t row = row0; row < row1; ++row) {
    const std::size_t n = row / g.oh, oy = row % g.oh;
    const std::ptrdiff_t iy0 = static_cast<std::ptrdiff_t>(oy * g.sh) - static_cast<std::ptrdiff_t>(g.ph);
    std::size_t ky0 = 0, ky1 = g.kh;  // taps inside the image vertically
    while (ky0 < ky1 && iy0 + static_cast<std::ptrdiff_t>(ky0 * g.dh) < 0) ++ky0;
    while (ky1 > ky0 && iy0 + static_cast<std::ptrdiff_t>((ky1 - 1) * g.dh) >= H) --ky1;
    const float* in_n = in + n * g.h * g.w * C;
    for (std::size_t ox = 0; ox < g.ow; ++ox) {
      const std::ptrdiff_t ix0 = static_cast<std::ptrdiff_t>(ox * g.sw) - static_cast<std::ptrdiff_t>(g.pw);
      std::size_t kx0 = 0, kx1 = g.kw;
      while (kx0 < kx1 && ix0 + static_cast<std::ptrdiff_t>(kx0 * g.dw) < 0) ++kx0;
      while (kx1 > kx0 && ix0 + static_cast<std::ptrdiff_t>((kx1 - 1) * g.dw) >= W) --kx1;
      float* o = out + (row * g.ow + ox) * C;
      const float* r = residual ? residual + (row * g.ow + ox) * C : nullptr;
      for (std::size_t c = 0; c < C; c += 16) {
        const __mmask16 m = lanes_avx512(C - c);
        __m512 acc = _mm512_maskz_loadu_ps(m, bias + c);
        for (std::size_t ky = ky0; ky < ky1; ++ky) {
          const float* irow = in_n + static_cast<std::size_t>(iy0 + static_cast<std::ptrdiff_t>(ky * g.dh)) * g.w * C;
          for (std::size_t kx = kx0; kx < kx1; ++kx) {
            const float* ip = irow + static_cast<std::size_t>(ix0 + static_cast<std::ptrdiff_t>(kx * g.dw)) * C + c;
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, ip), _mm512_load_ps(packed_w + (ky * g.kw + kx) * wstride + c), acc);
          }
        }
        store_vec_avx512<EpilogueAct::generic>(acc, m, act, r ? r + c : nullptr, o + c);
      }
    }
  }
}

}  // namespace wastenet::kernels

#undef WASTENET_AVX512

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // WASTENET_X86_KERNELS
