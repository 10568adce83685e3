// wastenet/kernels/channels.hpp - per-channel passes over NHWC pixels: summing each channel over
// pixels (global average pooling, and squeeze-and-excitation's pooling) and multiplying each pixel
// by a per-channel gate (squeeze-and-excitation's excitation).
//
// The portable loops compile to the translation unit's baseline (SSE2 on x86-64, 4 lanes); the
// AVX2 versions (8 lanes, 32 channels' sums kept in registers) run on both x86 kernel paths and
// took SE about half the time. Each
// channel is summed in pixel order in every version, and scaling is one product per element, so
// all versions give the same bits.
//
// Binary16 pixels (FP16 networks) are widened in registers as they are read, and scaled pixels
// rounded once as they are written: the FP32 computation on the widened values, with no FP32 copy
// of the tensor in memory (widening into a scratch buffer took FP16 SE 1.2-2.2x the FP32 time).
#pragma once

#include <cstddef>

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

/// sum[c] += x[i][c] for pixels i in order, channels c < C.
inline void add_channel_sums_portable(const float* x, std::size_t pixels, std::size_t C, float* sum) noexcept {
  for (std::size_t i = 0; i < pixels; ++i)
    for (std::size_t c = 0; c < C; ++c) sum[c] += x[i * C + c];
}

/// y[i][c] = x[i][c] * gate[c]; y may be x.
inline void scale_channels_portable(const float* x, std::size_t pixels, std::size_t C, const float* gate,
                                    float* y) noexcept {
  for (std::size_t i = 0; i < pixels; ++i)
    for (std::size_t c = 0; c < C; ++c) y[i * C + c] = x[i * C + c] * gate[c];
}

#if WASTENET_X86_KERNELS
__attribute__((target("avx2"))) inline void add_channel_sums_avx2(const float* x, std::size_t pixels, std::size_t C,
                                                                float* sum) noexcept {
  std::size_t c = 0;
  // 32 channels stay in registers over all pixels: one load per 8 inputs, no store until the end.
  for (; c + 32 <= C; c += 32) {
    __m256 s0 = _mm256_loadu_ps(sum + c), s1 = _mm256_loadu_ps(sum + c + 8);
    __m256 s2 = _mm256_loadu_ps(sum + c + 16), s3 = _mm256_loadu_ps(sum + c + 24);
    for (std::size_t i = 0; i < pixels; ++i) {
      const float* r = x + i * C + c;
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(r));
      s1 = _mm256_add_ps(s1, _mm256_loadu_ps(r + 8));
      s2 = _mm256_add_ps(s2, _mm256_loadu_ps(r + 16));
      s3 = _mm256_add_ps(s3, _mm256_loadu_ps(r + 24));
    }
    _mm256_storeu_ps(sum + c, s0);
    _mm256_storeu_ps(sum + c + 8, s1);
    _mm256_storeu_ps(sum + c + 16, s2);
    _mm256_storeu_ps(sum + c + 24, s3);
  }
  for (; c + 8 <= C; c += 8) {
    __m256 s = _mm256_loadu_ps(sum + c);
    for (std::size_t i = 0; i < pixels; ++i) s = _mm256_add_ps(s, _mm256_loadu_ps(x + i * C + c));
    _mm256_storeu_ps(sum + c, s);
  }
  for (; c < C; ++c)
    for (std::size_t i = 0; i < pixels; ++i) sum[c] += x[i * C + c];
}

__attribute__((target("avx2"))) inline void scale_channels_avx2(const float* x, std::size_t pixels, std::size_t C,
                                                              const float* gate, float* y) noexcept {
  for (std::size_t i = 0; i < pixels; ++i) {
    const float* r = x + i * C;
    float* o = y + i * C;
    std::size_t c = 0;
    for (; c + 8 <= C; c += 8) _mm256_storeu_ps(o + c, _mm256_mul_ps(_mm256_loadu_ps(r + c), _mm256_loadu_ps(gate + c)));
    for (; c < C; ++c) o[c] = r[c] * gate[c];
  }
}
#endif

/// sum[c] += float(x[i][c]) for binary16 pixels i in order, channels c0 <= c < C (the vector
/// versions pass the channels their registers leave over).
inline void add_channel_sums_portable(const half* x, std::size_t pixels, std::size_t C, float* sum,
                                      std::size_t c0 = 0) noexcept {
  for (std::size_t i = 0; i < pixels; ++i)
    for (std::size_t c = c0; c < C; ++c) sum[c] += half_bits_to_float(x[i * C + c].bits);
}

/// y[i][c] = half(float(x[i][c]) * gate[c]), rounded to nearest even; y may be x.
inline void scale_channels_portable(const half* x, std::size_t pixels, std::size_t C, const float* gate,
                                    half* y) noexcept {
  for (std::size_t i = 0; i < pixels; ++i)
    for (std::size_t c = 0; c < C; ++c) y[i * C + c].bits = float_to_half_bits(half_bits_to_float(x[i * C + c].bits) * gate[c]);
}

#if WASTENET_X86_KERNELS
__attribute__((target("avx2,f16c"))) inline __m256 load8_half_f16c(const half* x) noexcept {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)));
}

__attribute__((target("avx2,f16c"))) inline void add_channel_sums_f16c(const half* x, std::size_t pixels,
                                                                     std::size_t C, float* sum,
                                                                     std::size_t c0 = 0) noexcept {
  std::size_t c = c0;
  for (; c + 32 <= C; c += 32) {
    __m256 s0 = _mm256_loadu_ps(sum + c), s1 = _mm256_loadu_ps(sum + c + 8);
    __m256 s2 = _mm256_loadu_ps(sum + c + 16), s3 = _mm256_loadu_ps(sum + c + 24);
    for (std::size_t i = 0; i < pixels; ++i) {
      const half* r = x + i * C + c;
      s0 = _mm256_add_ps(s0, load8_half_f16c(r));
      s1 = _mm256_add_ps(s1, load8_half_f16c(r + 8));
      s2 = _mm256_add_ps(s2, load8_half_f16c(r + 16));
      s3 = _mm256_add_ps(s3, load8_half_f16c(r + 24));
    }
    _mm256_storeu_ps(sum + c, s0);
    _mm256_storeu_ps(sum + c + 8, s1);
    _mm256_storeu_ps(sum + c + 16, s2);
    _mm256_storeu_ps(sum + c + 24, s3);
  }
  for (; c + 8 <= C; c += 8) {
    __m256 s = _mm256_loadu_ps(sum + c);
    for (std::size_t i = 0; i < pixels; ++i) s = _mm256_add_ps(s, load8_half_f16c(x + i * C + c));
    _mm256_storeu_ps(sum + c, s);
  }
  add_channel_sums_portable(x, pixels, C, sum, c);
}

__attribute__((target("avx2,f16c"))) inline void scale_channels_f16c(const half* x, std::size_t pixels, std::size_t C,
                                                                   const float* gate, half* y) noexcept {
  for (std::size_t i = 0; i < pixels; ++i) {
    const half* r = x + i * C;
    half* o = y + i * C;
    std::size_t c = 0;
    for (; c + 8 <= C; c += 8) {
      const __m256 v = _mm256_mul_ps(load8_half_f16c(r + c), _mm256_loadu_ps(gate + c));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + c), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    for (; c < C; ++c) o[c].bits = float_to_half_bits(half_bits_to_float(r[c].bits) * gate[c]);
  }
}

// AVX-512F: 16 channels per register, 64 channels' sums kept in registers over all pixels.
__attribute__((target("avx512f"))) inline __m512 load16_half_avx512(const half* x) noexcept {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x)));
}

__attribute__((target("avx512f,avx2,f16c"))) inline void add_channel_sums_avx512(const half* x, std::size_t pixels,
                                                                               std::size_t C, float* sum) noexcept {
  std::size_t c = 0;
  for (; c + 64 <= C; c += 64) {
    __m512 s0 = _mm512_loadu_ps(sum + c), s1 = _mm512_loadu_ps(sum + c + 16);
    __m512 s2 = _mm512_loadu_ps(sum + c + 32), s3 = _mm512_loadu_ps(sum + c + 48);
    for (std::size_t i = 0; i < pixels; ++i) {
      const half* r = x + i * C + c;
      s0 = _mm512_add_ps(s0, load16_half_avx512(r));
      s1 = _mm512_add_ps(s1, load16_half_avx512(r + 16));
      s2 = _mm512_add_ps(s2, load16_half_avx512(r + 32));
      s3 = _mm512_add_ps(s3, load16_half_avx512(r + 48));
    }
    _mm512_storeu_ps(sum + c, s0);
    _mm512_storeu_ps(sum + c + 16, s1);
    _mm512_storeu_ps(sum + c + 32, s2);
    _mm512_storeu_ps(sum + c + 48, s3);
  }
  for (; c + 16 <= C; c += 16) {
    __m512 s = _mm512_loadu_ps(sum + c);
    for (std::size_t i = 0; i < pixels; ++i) s = _mm512_add_ps(s, load16_half_avx512(x + i * C + c));
    _mm512_storeu_ps(sum + c, s);
  }
  add_channel_sums_f16c(x, pixels, C, sum, c);  // the last 8-channel blocks and single channels
}

__attribute__((target("avx512f,avx2,f16c"))) inline void scale_channels_avx512(const half* x, std::size_t pixels,
                                                                             std::size_t C, const float* gate,
                                                                             half* y) noexcept {
  for (std::size_t i = 0; i < pixels; ++i) {
    const half* r = x + i * C;
    half* o = y + i * C;
    std::size_t c = 0;
    for (; c + 16 <= C; c += 16) {
      const __m512 v = _mm512_mul_ps(load16_half_avx512(r + c), _mm512_loadu_ps(gate + c));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + c), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    for (; c < C; ++c) o[c].bits = float_to_half_bits(half_bits_to_float(r[c].bits) * gate[c]);
  }
}
#endif

/// sum[c] += x[i][c] over `pixels` NHWC pixels of C channels, on `path`.
inline void add_channel_sums(KernelPath path, const float* x, std::size_t pixels, std::size_t C, float* sum) noexcept {
#if WASTENET_X86_KERNELS
  // AVX-512 CPUs all have AVX2. A 16-lane version is not written: it could not be measured or
  // tested on the project's AVX2 machine.
  if (uses_avx512(path) || path == KernelPath::f16c) return add_channel_sums_avx2(x, pixels, C, sum);
#endif
  (void)path;
  add_channel_sums_portable(x, pixels, C, sum);
}

/// y[i][c] = x[i][c] * gate[c] over `pixels` NHWC pixels of C channels (y may be x), on `path`.
inline void scale_channels(KernelPath path, const float* x, std::size_t pixels, std::size_t C, const float* gate,
                           float* y) noexcept {
#if WASTENET_X86_KERNELS
  if (uses_avx512(path) || path == KernelPath::f16c) return scale_channels_avx2(x, pixels, C, gate, y);
#endif
  (void)path;
  scale_channels_portable(x, pixels, C, gate, y);
}

/// sum[c] += float(x[i][c]) over `pixels` binary16 NHWC pixels of C channels, on `path`.
inline void add_channel_sums(KernelPath path, const half* x, std::size_t pixels, std::size_t C, float* sum) noexcept {
#if WASTENET_X86_KERNELS
  if (uses_avx512(path)) return add_channel_sums_avx512(x, pixels, C, sum);
  if (path == KernelPath::f16c) return add_channel_sums_f16c(x, pixels, C, sum);
#endif
  (void)path;
  add_channel_sums_portable(x, pixels, C, sum);
}

/// y[i][c] = half(float(x[i][c]) * gate[c]) over `pixels` binary16 NHWC pixels (y may be x), on `path`.
inline void scale_channels(KernelPath path, const half* x, std::size_t pixels, std::size_t C, const float* gate,
                           half* y) noexcept {
#if WASTENET_X86_KERNELS
  if (uses_avx512(path)) return scale_channels_avx512(x, pixels, C, gate, y);
  if (path == KernelPath::f16c) return scale_channels_f16c(x, pixels, C, gate, y);
#endif
  (void)path;
  scale_channels_portable(x, pixels, C, gate, y);
}

}  // namespace wastenet::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
