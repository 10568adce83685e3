// wastenet/kernels/channels.hpp - per-channel passes over NHWC pixels: summing each channel over
// pixels (global average pooling, and squeeze-and-excitation's pooling) and multiplying each pixel
// by a per-channel gate (squeeze-and-excitation's excitation).
//
// The portable loops compile to the translation unit's baseline (SSE2 on x86-64, 4 lanes); the
// AVX2 versions (8 lanes, 32 channels' sums kept in registers) run on both x86 kernel paths and
// took SE about half the time. Each
// channel is summed in pixel order in every version, and scaling is one product per element, so
// all versions give the same bits.
#pragma once

#include <cstddef>

#include "wastenet/kernels/dispatch.hpp"

#if WASTENET_X86_KERNELS
#include <immintrin.h>
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

}  // namespace wastenet::kernels
