// wastenet/kernels/x86/f16_avx512fp16.hpp - the 1x1 and the 3x3/5x5 depthwise convolutions of FP16
// networks in binary16 arithmetic, for CPUs with AVX512-FP16 (KernelPath::avx512fp16). A zmm holds
// 32 halves, so one vfmadd231ph does twice the work of an FP32 FMA, and neither the activations nor
// the binary16 weights are widened first. (The depthwise kernel is at the end of the file.)
//
// Products are summed in binary16 over runs of at most 32 input channels, and the runs are added
// in FP32 accumulators. A binary16 sum over all K (up to 1152 channels) would lose the small terms
// once it grows (precision.hpp); a run of 32 bounds what one sum can lose, and costs one widening
// per 32 FMAs. Bias, activation and residual are applied in FP32, and each output is rounded to
// binary16 once, as on the other paths.
//
// The 1x1 weights are the binary16 panels of pack_gemm_weights_avx512 + panels_to_half: [N/32][K][32].
// Only called after kernel_path_supported(KernelPath::avx512fp16) said yes.
#pragma once

#include "wastenet/kernels/dispatch.hpp"

#if WASTENET_X86_KERNELS

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "wastenet/half.hpp"
#include "wastenet/kernels/x86/f32_avx512.hpp"
#include "wastenet/nn/activation.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#define WASTENET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

namespace wastenet::kernels {

/// Input channels summed in binary16 before the sum is added in FP32.
inline constexpr std::size_t avx512fp16_run = 32;
/// Rows per micro-tile: 10 binary16 and 20 FP32 accumulators, 31 of the 32 zmm registers with the
/// weight vector. Each binary16 sum is a chain of up to 32 dependent FMAs; with 7 rows (the FP32
/// tile's) the chains' latency, not the FMA ports, set the pace, and MobileNetV2's 1x1 layers took
/// 1.1-1.2x as long as with 10 (docs/BENCHMARKS.md). 10 rows waste 2% of a 14x14 or 7x7 map's tiles.
inline constexpr std::size_t avx512fp16_mr = 10;

// One k of a tile: the panel's 32 weights, then sum[r] += broadcast(row r's input k) * w for the
// ten rows (vfmadd231ph with the input broadcast from memory), row r at a + r * stride bytes: rows
// 0-2 are addressed from a0, 3-5 from a3, 6-8 from a6 and 9 from a9, each plus 0, 1 or 2 times the
// stride register (five registers where ten row pointers would not fit), then every pointer moves
// on by one k. Inline assembly, not the intrinsic: Clang 14 has no _Float16 (so no __m512h) on x86
// unless the whole translation unit is built with -mavx512fp16, and consumers build without -march
// flags. The registers hold binary16 bits as __m512i; binutils 2.38+ and Clang 14's assembler know
// the instruction.
#define WASTENET_F16_FMADD10_STEP                            \
  "vmovdqa64 (%[w]), %[wv]\n\t"                             \
  "vfmadd231ph (%[a0])%{1to32%}, %[wv], %[s0]\n\t"          \
  "vfmadd231ph (%[a0],%[l],1)%{1to32%}, %[wv], %[s1]\n\t"   \
  "vfmadd231ph (%[a0],%[l],2)%{1to32%}, %[wv], %[s2]\n\t"   \
  "vfmadd231ph (%[a3])%{1to32%}, %[wv], %[s3]\n\t"          \
  "vfmadd231ph (%[a3],%[l],1)%{1to32%}, %[wv], %[s4]\n\t"   \
  "vfmadd231ph (%[a3],%[l],2)%{1to32%}, %[wv], %[s5]\n\t"   \
  "vfmadd231ph (%[a6])%{1to32%}, %[wv], %[s6]\n\t"          \
  "vfmadd231ph (%[a6],%[l],1)%{1to32%}, %[wv], %[s7]\n\t"   \
  "vfmadd231ph (%[a6],%[l],2)%{1to32%}, %[wv], %[s8]\n\t"   \
  "vfmadd231ph (%[a9])%{1to32%}, %[wv], %[s9]\n\t"          \
  "add $64, %[w]\n\t"                                        \
  "add $2, %[a0]\n\t"                                        \
  "add $2, %[a3]\n\t"                                        \
  "add $2, %[a6]\n\t"                                        \
  "add $2, %[a9]\n\t"

/// The sums of one run of a whole ten-row tile, from zero: its first with_pf ks also prefetch one
/// line each from pf into L2, the next rest ks do not; the panel row is w, the inputs' addresses as
/// in WASTENET_F16_FMADD10_STEP. The loops are in the asm statement: with the loop in C++ around a
/// ten-FMA statement, GCC 12 copied one accumulator to another register and back every k (two
/// vector moves and eleven scalar instructions beside ten FMAs). The FMAs and their order are
/// those of that loop, so the sums have the same bits.
/// always_inline: called out of line, the sums went through memory.
WASTENET_AVX512 __attribute__((always_inline)) inline void fmadd10_run_ph_avx512fp16(
    __m512i (&s)[10], const std::uint16_t* w, const char* a0, const char* a3, const char* a6, const char* a9,
    std::size_t stride, std::size_t with_pf, std::size_t rest, const char* pf) {
  __m512i wv;
  asm("vpxord %[s0], %[s0], %[s0]\n\t"
      "vpxord %[s1], %[s1], %[s1]\n\t"
      "vpxord %[s2], %[s2], %[s2]\n\t"
      "vpxord %[s3], %[s3], %[s3]\n\t"
      "vpxord %[s4], %[s4], %[s4]\n\t"
      "vpxord %[s5], %[s5], %[s5]\n\t"
      "vpxord %[s6], %[s6], %[s6]\n\t"
      "vpxord %[s7], %[s7], %[s7]\n\t"
      "vpxord %[s8], %[s8], %[s8]\n\t"
      "vpxord %[s9], %[s9], %[s9]\n\t"
      "test %[npf], %[npf]\n\t"
      "jz 2f\n"
      "1:\n\t"
      "prefetcht1 (%[pf])\n\t"
      "add $64, %[pf]\n\t" WASTENET_F16_FMADD10_STEP
      "dec %[npf]\n\t"
      "jnz 1b\n"
      "2:\n\t"
      "test %[nrest], %[nrest]\n\t"
      "jz 4f\n"
      "3:\n\t" WASTENET_F16_FMADD10_STEP
      "dec %[nrest]\n\t"
      "jnz 3b\n"
      "4:"
      : [s0] "=&v"(s[0]), [s1] "=&v"(s[1]), [s2] "=&v"(s[2]), [s3] "=&v"(s[3]), [s4] "=&v"(s[4]),
        [s5] "=&v"(s[5]), [s6] "=&v"(s[6]), [s7] "=&v"(s[7]), [s8] "=&v"(s[8]), [s9] "=&v"(s[9]), [wv] "=&v"(wv),
        [w] "+r"(w), [a0] "+r"(a0), [a3] "+r"(a3), [a6] "+r"(a6), [a9] "+r"(a9), [npf] "+r"(with_pf),
        [nrest] "+r"(rest), [pf] "+r"(pf)
      : [l] "r"(stride)
      : "memory", "cc");
}
#undef WASTENET_F16_FMADD10_STEP

/// sum's 32 binary16 lanes widened and added to two FP32 accumulators.
WASTENET_AVX512 inline void f16_add_wide_avx512fp16(__m512& lo, __m512& hi, __m512i sum) {
  lo = _mm512_add_ps(lo, _mm512_cvtph_ps(_mm512_castsi512_si256(sum)));
  hi = _mm512_add_ps(hi, _mm512_cvtph_ps(_mm512_extracti64x4_epi64(sum, 1)));
}

/// Stores one row's 32 FP32 results (bias added) after the activation and the residual: as binary16,
/// or, for the fused expansion's FP32 scratch, as floats holding binary16 values.
template <EpilogueAct A, class OutT>
WASTENET_AVX512 inline void f16_store_row_avx512fp16(__m512 v0, __m512 v1, __mmask16 m0, __mmask16 m1,
                                                     const Activation& act, const half* res, OutT* c) {
  constexpr int round = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  v0 = activate_fixed_avx512<A>(v0, act);
  v1 = activate_fixed_avx512<A>(v1, act);
  if (res) {
    v0 = _mm512_add_ps(v0, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m0, res)));
    v1 = _mm512_add_ps(v1, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m1, res + 16)));
  }
  const __m256i h0 = _mm512_cvtps_ph(v0, round), h1 = _mm512_cvtps_ph(v1, round);
  if constexpr (std::is_same_v<OutT, half>) {
    _mm256_mask_storeu_epi16(c, m0, h0);
    _mm256_mask_storeu_epi16(c + 16, m1, h1);
  } else {
    _mm512_mask_storeu_ps(c, m0, _mm512_cvtph_ps(h0));
    _mm512_mask_storeu_ps(c + 16, m1, _mm512_cvtph_ps(h1));
  }
}

/// One micro-tile: up to 10 rows x one 32-column panel. A partial tile (fewer rows: the end of a
/// band or of a thread's share) copies each run of its rows into a small buffer and computes ten
/// rows there, storing only its own; the buffer's other rows are zeros. Each row's sums are the
/// same either way.
template <EpilogueAct A, class OutT>
WASTENET_AVX512 inline void f16_gemm_tile_avx512fp16(const half* a, std::size_t lda, std::size_t rows,
                                                     const std::uint16_t* panel, std::size_t K, OutT* c,
                                                     std::size_t ldc, std::size_t cols, const float* bias,
                                                     const Activation& act, const half* res, std::size_t ldr,
                                                     PanelPrefetch pf = {}) {
  static_assert(avx512fp16_mr == 10, "fmadd10_run_ph_avx512fp16 takes ten rows");
  const __mmask16 m0 = lanes_avx512(cols), m1 = lanes_avx512(cols > 16 ? cols - 16 : 0);
  const __m512 bias0 = _mm512_maskz_loadu_ps(m0, bias), bias1 = _mm512_maskz_loadu_ps(m1, bias + 16);
  __m512 lo[avx512fp16_mr], hi[avx512fp16_mr];
  for (std::size_t r = 0; r < avx512fp16_mr; ++r) lo[r] = bias0, hi[r] = bias1;
  // The runs of K: each run's sums from zero, widened and added to the FP32 sums.
  const auto runs = [&](auto partial) WASTENET_AVX512 {
    alignas(64) std::uint16_t part[avx512fp16_mr][avx512fp16_run];  // binary16 bits (half would zero it each call)
    if constexpr (decltype(partial)::value) {
      for (std::size_t r = rows; r < avx512fp16_mr; ++r) _mm512_store_si512(part[r], _mm512_setzero_si512());
    }
    for (std::size_t k0 = 0; k0 < K; k0 += avx512fp16_run) {
      const std::size_t n = std::min(K - k0, avx512fp16_run);
      const char* a0 = reinterpret_cast<const char*>(a + k0);
      std::size_t stride = lda * sizeof(half);
      if constexpr (decltype(partial)::value) {
        const auto km = static_cast<__mmask32>(n == 32 ? 0xFFFFFFFFu : (1u << n) - 1u);
        for (std::size_t r = 0; r < rows; ++r) {
          _mm512_mask_storeu_epi16(part[r], km, _mm512_maskz_loadu_epi16(km, a + r * lda + k0));
        }
        a0 = reinterpret_cast<const char*>(part[0]);
        stride = sizeof(part[0]);
      }
      // The first ks of the run that still have a line of the next panel to prefetch, then the rest.
      const std::size_t with_pf = k0 < pf.lines ? std::min(k0 + n, pf.lines) - k0 : 0;
      __m512i sum[avx512fp16_mr];
      fmadd10_run_ph_avx512fp16(sum, panel + k0 * 32, a0, a0 + 3 * stride, a0 + 6 * stride, a0 + 9 * stride,
                                stride, with_pf, n - with_pf,
                                with_pf > 0 ? pf.from + k0 * prefetch_line_bytes : nullptr);
      for (std::size_t r = 0; r < avx512fp16_mr; ++r) f16_add_wide_avx512fp16(lo[r], hi[r], sum[r]);
    }
  };
  if (rows == avx512fp16_mr) {
    runs(std::false_type{});
  } else {
    runs(std::true_type{});
  }
  for (std::size_t r = 0; r < avx512fp16_mr; ++r) {
    if (r < rows) f16_store_row_avx512fp16<A>(lo[r], hi[r], m0, m1, act, res ? res + r * ldr : nullptr, c + r * ldc);
  }
}

template <EpilogueAct A, class OutT>
WASTENET_AVX512 inline void f16_gemm_rows_avx512fp16(const half* a, OutT* c, std::size_t r0, std::size_t r1,
                                                     std::size_t K, std::size_t N, const std::uint16_t* packed,
                                                     const float* bias, const Activation& act, const half* residual) {
  const std::size_t panels = (N + 31) / 32;
  // Within a row block of 12 tiles, each panel (K x 32 halves) serves all 12 tiles while it is in
  // L1 or L2, as in f32_gemm_rows_avx512.
  constexpr std::size_t row_block = 12 * avx512fp16_mr;
  for (std::size_t rb = r0; rb < r1; rb += row_block) {
    const std::size_t re = std::min(r1, rb + row_block);
    const std::size_t tiles = (re - rb + avx512fp16_mr - 1) / avx512fp16_mr;
    for (std::size_t p = 0; p < panels; ++p) {
      const std::size_t col = p * 32, cols = std::min<std::size_t>(32, N - col);
      const std::uint16_t* next = p + 1 < panels ? packed + (p + 1) * K * 32 : nullptr;
      for (std::size_t r = rb, t = 0; r < re; r += avx512fp16_mr, ++t) {
        f16_gemm_tile_avx512fp16<A>(a + r * K, K, std::min(avx512fp16_mr, re - r), packed + p * K * 32, K,
                                    c + r * N + col, N, cols, bias + col, act,
                                    residual ? residual + r * N + col : nullptr, N,
                                    panel_prefetch_share(next, K * 32 * sizeof(std::uint16_t), t, tiles));
      }
    }
  }
}

/// C[r0:r1, :N] = half(act(A[r0:r1, :K] * W + bias) [+ residual]) with A, W and the residual in
/// binary16. OutT is half, or float for values that are then kept in an FP32 buffer.
template <class OutT>
WASTENET_AVX512 inline void f16_gemm_10x32_avx512fp16(const half* a, OutT* c, std::size_t r0, std::size_t r1,
                                                     std::size_t K, std::size_t N, const std::uint16_t* packed,
                                                     const float* bias, const Activation& act,
                                                     const half* residual) {
  with_epilogue_act(act.kind, [&](auto e) {
    f16_gemm_rows_avx512fp16<decltype(e)::value>(a, c, r0, r1, K, N, packed, bias, act, residual);
  });
}

/// acc += x * w lane by lane in 32 binary16 lanes (not broadcast, unlike fmadd_ph_avx512fp16), x a
/// whole vector of 32 halves in memory (vfmadd231ph's memory operand), or in a register for a last
/// block of fewer than 32 channels, loaded masked.
WASTENET_AVX512 inline __m512i fmadd_ph_lanes_avx512fp16(__m512i acc, __m512i w, const half (&x)[32]) {
  asm("vfmadd231ph %[x], %[w], %[acc]" : [acc] "+v"(acc) : [w] "v"(w), [x] "m"(x));
  return acc;
}
WASTENET_AVX512 inline __m512i fmadd_ph_lanes_avx512fp16(__m512i acc, __m512i w, __m512i x) {
  asm("vfmadd231ph %[x], %[w], %[acc]" : [acc] "+v"(acc) : [w] "v"(w), [x] "v"(x));
  return acc;
}

/// One tap of 32 depthwise channels: whole blocks read the input from memory, the last block of
/// fewer channels (Whole false) loads its lanes masked, so nothing past the channels is read.
template <bool Whole>
WASTENET_AVX512 inline __m512i f16_dw_tap_avx512fp16(__m512i acc, __m512i w, const half* x, __mmask32 m) {
  if constexpr (Whole) {
    (void)m;
    return fmadd_ph_lanes_avx512fp16(acc, w, *reinterpret_cast<const half(*)[32]>(x));
  } else {
    return fmadd_ph_lanes_avx512fp16(acc, w, _mm512_maskz_loadu_epi16(m, x));
  }
}

/// Pixels of an FP16 network's depthwise interior blocks: each holds a binary16 sum and two FP32
/// accumulators, beside the KH*KW weight vectors, in the 32 zmm registers.
template <std::size_t KH, std::size_t KW>
inline constexpr std::size_t f16_dw_block_pixels = KH * KW <= 9 ? 4 : 2;

/// 32 channels from c of one output row of an FP16 network's depthwise KHxKW convolution (dilation
/// 1). Each kernel row's KW taps are summed in binary16 from zero, skipping those outside the
/// image, and the row sums are added in FP32 accumulators that start at the bias; activation and
/// residual follow in FP32, and the output is rounded once. A row sum of KW products (each
/// rounded once, by at most 2^-11 of the running sum) stays within KW x 2^-11 x its sum of |x w|.
/// Summing all 9 taps in binary16 was up to 3% faster, but moved ImageNet MobileNetV2's FP16 logits by
/// 2.03% of their spread on a sample photo, past Fp16ImageNet's 2% (docs/architecture.md).
/// Interior pixels go in blocks with the same per-pixel operations.
template <std::size_t KH, std::size_t KW, EpilogueAct A, bool Whole>
WASTENET_AVX512 inline void f16_dwconv_row_avx512fp16(const half* in_n, std::size_t H, std::size_t W, std::size_t C,
                                                      std::size_t OW, std::size_t SW, std::size_t PW,
                                                      std::ptrdiff_t iy0, std::size_t ox_lo, std::size_t ox_hi,
                                                      std::size_t c, const std::uint16_t* packed_w,
                                                      std::size_t wstride, const float* bias, const Activation& act,
                                                      const half* res_row, half* out_row) {
  const std::size_t left = std::min<std::size_t>(32, C - c);
  const __mmask32 m = Whole ? static_cast<__mmask32>(0xFFFFFFFFu) : static_cast<__mmask32>((1u << left) - 1u);
  const __mmask16 m0 = lanes_avx512(left), m1 = lanes_avx512(left > 16 ? left - 16 : 0);
  __m512i w[KH * KW];
  for (std::size_t t = 0; t < KH * KW; ++t) w[t] = _mm512_load_si512(packed_w + t * wstride + c);
  const __m512 b0 = _mm512_maskz_loadu_ps(m0, bias + c), b1 = _mm512_maskz_loadu_ps(m1, bias + c + 16);
  const auto iH = static_cast<std::ptrdiff_t>(H), iW = static_cast<std::ptrdiff_t>(W);
  const auto store = [&](__m512 lo, __m512 hi, std::size_t ox) WASTENET_AVX512 {
    const half* res = res_row ? res_row + ox * C + c : nullptr;
    half* o = out_row + ox * C + c;
    store_vec_avx512<A>(lo, m0, act, res, o);
    if (m1) store_vec_avx512<A>(hi, m1, act, res ? res + 16 : nullptr, o + 16);
  };
  const auto one_pixel = [&](std::size_t ox) WASTENET_AVX512 {
    const std::ptrdiff_t ix0 = static_cast<std::ptrdiff_t>(ox * SW) - static_cast<std::ptrdiff_t>(PW);
    __m512 lo = b0, hi = b1;
    for (std::size_t ky = 0; ky < KH; ++ky) {
      const std::ptrdiff_t iy = iy0 + static_cast<std::ptrdiff_t>(ky);
      if (iy < 0 || iy >= iH) continue;
      __m512i sum = _mm512_setzero_si512();
      for (std::size_t kx = 0; kx < KW; ++kx) {
        const std::ptrdiff_t ix = ix0 + static_cast<std::ptrdiff_t>(kx);
        if (ix < 0 || ix >= iW) continue;
        const half* x = in_n + (static_cast<std::size_t>(iy) * W + static_cast<std::size_t>(ix)) * C + c;
        sum = f16_dw_tap_avx512fp16<Whole>(sum, w[ky * KW + kx], x, m);
      }
      f16_add_wide_avx512fp16(lo, hi, sum);
    }
    store(lo, hi, ox);
  };
  // P interior pixels from ox, all of whose taps are inside the image.
  const auto block = [&](std::size_t ox) WASTENET_AVX512 {
    constexpr std::size_t P = f16_dw_block_pixels<KH, KW>;
    const std::ptrdiff_t ix0 = static_cast<std::ptrdiff_t>(ox * SW) - static_cast<std::ptrdiff_t>(PW);
    const half* x = in_n + (static_cast<std::size_t>(iy0) * W + static_cast<std::size_t>(ix0)) * C + c;
    const std::size_t step = SW * C;
    __m512 lo[P], hi[P];
    for (std::size_t p = 0; p < P; ++p) lo[p] = b0, hi[p] = b1;
    // Unrolled whole, or GCC keeps the loop over ky and the sums and weights on the stack.
#pragma GCC unroll 5
    for (std::size_t ky = 0; ky < KH; ++ky) {
      __m512i sum[P];
      for (std::size_t p = 0; p < P; ++p) sum[p] = _mm512_setzero_si512();
#pragma GCC unroll 5
      for (std::size_t kx = 0; kx < KW; ++kx) {
        const half* t = x + (ky * W + kx) * C;
#pragma GCC unroll 4
        for (std::size_t p = 0; p < P; ++p) sum[p] = f16_dw_tap_avx512fp16<Whole>(sum[p], w[ky * KW + kx], t + p * step, m);
      }
      for (std::size_t p = 0; p < P; ++p) f16_add_wide_avx512fp16(lo[p], hi[p], sum[p]);
    }
    for (std::size_t p = 0; p < P; ++p) store(lo[p], hi[p], ox + p);
  };
  constexpr std::size_t P = f16_dw_block_pixels<KH, KW>;
  std::size_t ox = 0;
  for (; ox < ox_lo; ++ox) one_pixel(ox);  // [ox_lo, ox_hi): the interior columns, empty on border rows
  for (; ox + P <= ox_hi; ox += P) block(ox);
  for (; ox < OW; ++ox) one_pixel(ox);
}

/// Output rows [row0, row1) of an FP16 network's undilated 3x3 or 5x5 depthwise convolution in
/// binary16 arithmetic; weights [KH*KW][wstride] in binary16, wstride a multiple of 32.
template <std::size_t KH, std::size_t KW, EpilogueAct A>
WASTENET_AVX512 inline void f16_dwconv_rows_avx512fp16(const ConvGeometry& g, const half* in, half* out,
                                                       std::size_t row0, std::size_t row1,
                                                       const std::uint16_t* packed_w, std::size_t wstride,
                                                       const float* bias, const Activation& act, const half* residual) {
  const std::size_t C = g.c, H = g.h, W = g.w, OH = g.oh, OW = g.ow;
  const auto [ox_lo, ox_hi] = inside_columns(g);
  for (std::size_t row = row0; row < row1; ++row) {
    const std::size_t n = row / OH, oy = row % OH;
    const std::ptrdiff_t iy0 = static_cast<std::ptrdiff_t>(oy * g.sh) - static_cast<std::ptrdiff_t>(g.ph);
    const bool rows_inside = iy0 >= 0 && iy0 + static_cast<std::ptrdiff_t>(KH) <= static_cast<std::ptrdiff_t>(H);
    const std::size_t lo = rows_inside ? ox_lo : 0, hi = rows_inside ? ox_hi : 0;
    const half* in_n = in + n * H * W * C;
    half* out_row = out + row * OW * C;
    const half* res_row = residual ? residual + row * OW * C : nullptr;
    std::size_t c = 0;
    for (; c + 32 <= C; c += 32) {
      f16_dwconv_row_avx512fp16<KH, KW, A, true>(in_n, H, W, C, OW, g.sw, g.pw, iy0, lo, hi, c, packed_w, wstride,
                                                 bias, act, res_row, out_row);
    }
    if (c < C) {
      f16_dwconv_row_avx512fp16<KH, KW, A, false>(in_n, H, W, C, OW, g.sw, g.pw, iy0, lo, hi, c, packed_w, wstride,
                                                  bias, act, res_row, out_row);
    }
  }
}

/// f16_dwconv_rows_avx512fp16 with the kernel size and the activation chosen once per call.
WASTENET_AVX512 inline void f16_dwconv_avx512fp16(const ConvGeometry& g, const half* in, half* out, std::size_t row0,
                                                  std::size_t row1, const std::uint16_t* packed_w,
                                                  std::size_t wstride, const float* bias, const Activation& act,
                                                  const half* residual) {
  const auto run = [&](auto a) WASTENET_AVX512 {
    constexpr EpilogueAct A = decltype(a)::value;
    if (g.kh == 3) {
      f16_dwconv_rows_avx512fp16<3, 3, A>(g, in, out, row0, row1, packed_w, wstride, bias, act, residual);
    } else {
      f16_dwconv_rows_avx512fp16<5, 5, A>(g, in, out, row0, row1, packed_w, wstride, bias, act, residual);
    }
  };
  using E = EpilogueAct;
  switch (act.kind) {
    case ActKind::identity: return run(std::integral_constant<E, E::identity>{});
    case ActKind::relu: return run(std::integral_constant<E, E::relu>{});
    case ActKind::relu6: return run(std::integral_constant<E, E::relu6>{});
    case ActKind::silu: return run(std::integral_constant<E, E::silu>{});
    case ActKind::hardswish: return run(std::integral_constant<E, E::hardswish>{});
    default: return run(std::integral_constant<E, E::generic>{});
  }
}

}  // namespace wastenet::kernels

#undef WASTENET_AVX512

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // WASTENET_X86_KERNELS
