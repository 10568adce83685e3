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
