// wastenet/kernels/convert.hpp - binary16 <-> float32 conversion of activation rows, for each
// kernel path: F16C (8 lanes) on AVX2 CPUs, AVX-512F's vcvtph2ps/vcvtps2ph (16 lanes), and the
// exact scalar conversions of half.hpp everywhere else. All three round to nearest even and
// give identical bits (tests/precision_test.cpp checks every binary16 value and a float sweep).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "wastenet/half.hpp"
#include "wastenet/kernels/dispatch.hpp"

#if WASTENET_X86_KERNELS
#include <immintrin.h>
#endif

// GCC 12's AVX-512 intrinsics initialise a variable from itself (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace wastenet::kernels {

inline void half_to_float_portable(const half* in, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = half_bits_to_float(in[i].bits);
}

/// out = half(x [+ residual]): the residual is added in FP32 before the one rounding.
inline void float_to_half_portable(const float* x, const half* residual, half* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = residual ? x[i] + half_bits_to_float(residual[i].bits) : x[i];
    out[i].bits = float_to_half_bits(v);
  }
}

#if WASTENET_X86_KERNELS
__attribute__((target("avx2,f16c"))) inline void half_to_float_f16c(const half* in, float* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  half_to_float_portable(in + i, out + i, n - i);
}

__attribute__((target("avx2,f16c"))) inline void float_to_half_f16c(const float* x, const half* residual, half* out,
                                                                   std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    if (residual) v = _mm256_add_ps(v, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(residual + i))));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  float_to_half_portable(x + i, residual ? residual + i : nullptr, out + i, n - i);
}

__attribute__((target("avx512f"))) inline void half_to_float_avx512(const half* in, float* out, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i))));
  }
  half_to_float_portable(in + i, out + i, n - i);
}

__attribute__((target("avx512f"))) inline void float_to_half_avx512(const float* x, const half* residual, half* out,
                                                                   std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(x + i);
    if (residual) v = _mm512_add_ps(v, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(residual + i))));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  float_to_half_portable(x + i, residual ? residual + i : nullptr, out + i, n - i);
}
#endif

/// n binary16 values to float32 on `path`.
inline void half_to_float(KernelPath path, const half* in, float* out, std::size_t n) noexcept {
#if WASTENET_X86_KERNELS
  if (uses_avx512(path)) return half_to_float_avx512(in, out, n);
  if (path == KernelPath::f16c) return half_to_float_f16c(in, out, n);
#endif
  (void)path;
  half_to_float_portable(in, out, n);
}

/// out[i] = half(x[i] + residual[i]) (residual may be null) on `path`.
inline void float_to_half(KernelPath path, const float* x, const half* residual, half* out, std::size_t n) noexcept {
#if WASTENET_X86_KERNELS
  if (uses_avx512(path)) return float_to_half_avx512(x, residual, out, n);
  if (path == KernelPath::f16c) return float_to_half_f16c(x, residual, out, n);
#endif
  (void)path;
  float_to_half_portable(x, residual, out, n);
}

/// Rounds each value in place to the nearest binary16, as storing it in binary16 and reading it
/// back would: the weights of an FP16 network when it is built, and FP16 activations kept in an
/// FP32 scratch buffer (with the kernel path's conversions, which round the same way).
inline void round_to_half(float* v, std::size_t n, KernelPath path = KernelPath::portable) noexcept {
  constexpr std::size_t chunk = 256;
  half tmp[chunk];
  for (std::size_t i = 0; i < n; i += chunk) {
    const std::size_t m = std::min(chunk, n - i);
    float_to_half(path, v + i, nullptr, tmp, m);
    half_to_float(path, tmp, v + i, m);
  }
}

}  // namespace wastenet::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
