// wastenet/kernels/generic.hpp - the kernels of the paths below AVX-512: the portable C++/Eigen
// kernels, or their AVX2 + FMA versions on the f16c path (x86 without AVX-512). The depthwise
// kernels share a layout; the GEMM weights are row-major [K][N] for Eigen and 16-column panels for
// AVX2, packed by pack_gemm_weights.
#pragma once

#include <cstddef>

#include "wastenet/kernels/dispatch.hpp"
#include "wastenet/kernels/portable.hpp"
#include "wastenet/kernels/x86/f32_avx2.hpp"
#include "wastenet/nn/activation.hpp"

namespace wastenet::kernels {

/// Row-major weights [K][N] in `path`'s GEMM layout, into `out` (resized).
template <class Vector>
inline void pack_gemm_weights(KernelPath path, const float* kn, std::size_t K, std::size_t N, Vector& out) {
#if WASTENET_X86_KERNELS
  if (path == KernelPath::f16c) {
    out.assign(packed_gemm_size_avx2(K, N), 0.f);
    return pack_gemm_weights_avx2(kn, K, N, out.data());
  }
#endif
  (void)path;
  out.assign(kn, kn + K * N);
}

/// 1x1 convolution rows [r0, r1): out = act(in * W + bias) [+ residual], W from pack_gemm_weights.
inline void f32_gemm_epilogue(KernelPath path, const float* in, float* out, std::size_t r0, std::size_t r1, std::size_t K,
                              std::size_t N, const float* w, const float* bias, const Activation& act,
                              const float* residual) {
#if WASTENET_X86_KERNELS
  if (path == KernelPath::f16c) return f32_gemm_epilogue_avx2(in, out, r0, r1, K, N, w, bias, act, residual);
#endif
  (void)path;
  f32_gemm_epilogue_eigen(in, out, r0, r1, K, N, w, bias, act, residual);
}

/// Whether a 1x1 convolution of `rows` rows and N outputs splits its columns among threads rather
/// than its rows: on the AVX2 path, when there are fewer rows than columns (7x7 maps at batch 1).
/// Split by rows, every thread reads all of the weights (0.9 MB for 192->1152), which are then
/// the larger operand; split by columns, each reads its share of them and all of the small input.
inline bool gemm_splits_columns(KernelPath path, std::size_t rows, std::size_t N, std::size_t threads) {
#if WASTENET_X86_KERNELS
  return path == KernelPath::f16c && threads > 1 && rows < N && N >= threads * avx2_gemm_nr;
#else
  (void)path, (void)rows, (void)N, (void)threads;
  return false;
#endif
}

/// Width of the column blocks gemm_splits_columns hands out: whole weight panels.
inline std::size_t gemm_column_grain(KernelPath path) {
#if WASTENET_X86_KERNELS
  if (path == KernelPath::f16c) return avx2_gemm_nr;
#endif
  (void)path;
  return 1;
}

/// Columns [n0, n1) of all `rows` rows of a 1x1 convolution (n0 a multiple of
/// gemm_column_grain): the contract of f32_gemm_epilogue on a column range. The same bits as a
/// split by rows: every output is the same sequential sum over k.
inline void f32_gemm_epilogue_columns(KernelPath path, const float* in, float* out, std::size_t rows, std::size_t K,
                                      std::size_t N, std::size_t n0, std::size_t n1, const float* w, const float* bias,
                                      const Activation& act, const float* residual) {
#if WASTENET_X86_KERNELS
  if (path == KernelPath::f16c) {
    return f32_gemm_6x16_avx2(in, K, out + n0, N, rows, K, n1 - n0, w + n0 * K, bias + n0, act,
                              residual ? residual + n0 : nullptr, N);
  }
#endif
  (void)n0, (void)n1;
  f32_gemm_epilogue(path, in, out, 0, rows, K, N, w, bias, act, residual);
}

/// Any convolution, output pixels [p0, p1). Weights per group [kh*kw*cin_g][cout_g], through
/// pack_gemm_weights if ungrouped (AVX2 runs those, reading the image directly where it can);
/// grouped ones take im2col and Eigen's GEMM.
inline void f32_conv_general(KernelPath path, const ConvGeometry& g, const float* in, float* out, std::size_t p0,
                            std::size_t p1, const float* w, const float* bias, const Activation& act,
                            const float* residual) {
#if WASTENET_X86_KERNELS
  if (path == KernelPath::f16c && g.groups == 1) return f32_conv_avx2(g, in, out, p0, p1, w, bias, act, residual);
#endif
  (void)path;
  f32_conv_im2col_eigen(g, in, out, p0, p1, w, bias, act, residual);
}

/// Depthwise convolution output rows [row0, row1), weights [kh][kw][C].
inline void f32_dwconv(KernelPath path, const ConvGeometry& g, const float* in, float* out, std::size_t row0,
                       std::size_t row1, const float* w, const float* bias, const Activation& act,
                       const float* residual) {
#if WASTENET_X86_KERNELS
  if (path == KernelPath::f16c) return f32_dwconv_avx2(g, in, out, row0, row1, w, bias, act, residual);
#endif
  (void)path;
  f32_dwconv_portable(g, in, out, row0, row1, w, bias, act, residual);
}

}  // namespace wastenet::kernels
