// wastenet/kernels/x86/exp_cephes.hpp - the constants of 1 + e^-x, the denominator of sigmoid and
// SiLU: Cephes' clamp and range reduction (n = round(x log2 e), r = x - n ln 2 with ln 2 in two
// parts, Cody and Waite), and a degree-5 minimax polynomial for e^-r. The AVX2 and the AVX-512
// kernels share them, so both compute the same function.
#pragma once

namespace wastenet::kernels::exp_cephes {

inline constexpr float min_x = -87.3f;  // e^x stays a normal float
inline constexpr float max_x = 88.3f;
inline constexpr float log2e = 1.44269504088896341f;
inline constexpr float ln2_hi = 0.693359375f;  // exact in 9 bits, so n * ln2_hi is exact
inline constexpr float ln2_lo = -2.12194440e-4f;

/// e^-r = q0 + r (q1 + r (q2 + r (q3 + r (q4 + r q5)))) on |r| <= ln2 / 2, minimax (Remez),
/// relative error 7.5e-8.
inline constexpr float q5 = -8.2976482809e-03f;
inline constexpr float q4 = 4.1915431619e-02f;
inline constexpr float q3 = -1.6667574644e-01f;
inline constexpr float q2 = 4.9998894334e-01f;
inline constexpr float q1 = -9.9999970198e-01f;
inline constexpr float q0 = 1.0000001192e+00f;

}  // namespace wastenet::kernels::exp_cephes
