// wastenet/kernels/generic.hpp - the kernels of the paths without packed layouts of their own: the
// portable C++/Eigen kernels, or their AVX2 + FMA versions on the f16c path (x86 without AVX-512).
// Both read the same weight layouts, so an operator packs once for either.
#pragma once

#include <cstddef>

#include "wastenet/kernels/dispatch.hpp"
#include "wastenet/kernels/portable.hpp"
#include "wastenet/kernels/x86/f32_avx2.hpp"
#include "wastenet/nn/activation.hpp"

namespace wastenet::kernels {

/// 1x1 convolution rows [r0, r1): out = act(in * W + bias) [+ residual], W row-major [K][N].
inline void f32_gemm_epilogue(KernelPath path, const float* in, float* out, std::size_t r0, std::size_t r1, std::size_t K,
                              std::size_t N, const float* w, const float* bias, const Activation& act,
                              const float* residual) {
#if WASTENET_X86_KERNELS
  if (path == KernelPath::f16c) return f32_gemm_epilogue_avx2(in, out, r0, r1, K, N, w, bias, act, residual);
#endif
  (void)path;
  f32_gemm_epilogue_eigen(in, out, r0, r1, K, N, w, bias, act, residual);
}

/// Any convolution by im2col, output pixels [p0, p1), weights per group [kh*kw*cin_g][cout_g].
inline void f32_conv_im2col(KernelPath path, const ConvGeometry& g, const float* in, float* out, std::size_t p0,
                            std::size_t p1, const float* w, const float* bias, const Activation& act,
                            const float* residual) {
#if WASTENET_X86_KERNELS
  if (path == KernelPath::f16c) return f32_conv_im2col_avx2(g, in, out, p0, p1, w, bias, act, residual);
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
