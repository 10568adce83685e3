// wastenet/kernels/x86/exp_cephes.hpp - the constants of Cephes' expf: clamp, n = round(x log2 e),
// r = x - n ln 2 (ln 2 in two parts, Cody and Waite), e^r by a degree-7 polynomial, times 2^n.
// The AVX-512 exp uses all of them; the AVX2 sigmoid (f32_avx2.hpp) shares the clamp and the
// reduction and has its own shorter polynomial.
#pragma once

namespace wastenet::kernels::exp_cephes {

inline constexpr float min_x = -87.3f;  // e^x stays a normal float
inline constexpr float max_x = 88.3f;
inline constexpr float log2e = 1.44269504088896341f;
inline constexpr float ln2_hi = 0.693359375f;  // exact in 9 bits, so n * ln2_hi is exact
inline constexpr float ln2_lo = -2.12194440e-4f;
/// e^r = 1 + r + r^2 (p5 + r (p4 + r (p3 + r (p2 + r (p1 + r p0))))).
inline constexpr float p0 = 1.9875691500e-4f;
inline constexpr float p1 = 1.3981999507e-3f;
inline constexpr float p2 = 8.3334519073e-3f;
inline constexpr float p3 = 4.1665795894e-2f;
inline constexpr float p4 = 1.6666665459e-1f;
inline constexpr float p5 = 5.0000001201e-1f;

}  // namespace wastenet::kernels::exp_cephes
