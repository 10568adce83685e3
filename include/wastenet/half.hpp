// wastenet/half.hpp - IEEE 754 binary16 storage type and exact conversions. Standard library only.
//
// `half` is a storage type: arithmetic converts to float. Conversions round to nearest even and
// keep infinities, NaNs and subnormals, matching what F16C's vcvtps2ph/vcvtph2ps and PyTorch's
// `tensor.half()` produce, so weights rounded here equal weights rounded by PyTorch.
//
//   wastenet::half h(0.1f);          // 0x2E66
//   float f = static_cast<float>(h); // 0.0999755859375
#pragma once

#include <cstdint>
#include <cstring>

namespace wastenet {

/// float32 -> binary16 bits, round to nearest even.
inline std::uint16_t float_to_half_bits(float value) noexcept {
  std::uint32_t f;
  std::memcpy(&f, &value, sizeof f);
  const std::uint32_t sign = (f >> 16) & 0x8000u;
  const std::uint32_t abs = f & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) {  // inf or NaN: keep NaN quiet and non-zero
    return static_cast<std::uint16_t>(sign | 0x7C00u | (abs > 0x7F800000u ? (0x200u | ((abs >> 13) & 0x3FFu)) : 0u));
  }
  if (abs >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {  // result is subnormal or zero
    if (abs < 0x33000000u) return static_cast<std::uint16_t>(sign);  // below half the smallest subnormal
    // value = mant * 2^(e-150) and a half subnormal is q * 2^-24, so q = mant >> (126 - e).
    const std::uint32_t mant = (abs & 0x7FFFFFu) | 0x800000u;
    const int rshift = 126 - static_cast<int>(abs >> 23);  // 14..24
    std::uint32_t h = mant >> rshift;
    const std::uint32_t rem = mant & ((1u << rshift) - 1u);
    const std::uint32_t halfway = 1u << (rshift - 1);
    if (rem > halfway || (rem == halfway && (h & 1u))) ++h;
    return static_cast<std::uint16_t>(sign | h);
  }
  // normal: rebias exponent (127 -> 15) and round the 13 dropped mantissa bits
  std::uint32_t h = ((abs - 0x38000000u) >> 13);
  const std::uint32_t rem = abs & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<std::uint16_t>(sign | h);
}

/// binary16 bits -> float32 (exact).
inline float half_bits_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu;
  std::uint32_t mant = h & 0x3FFu;
  std::uint32_t f;
  if (exp == 0x1F) {
    f = sign | 0x7F800000u | (mant << 13);
  } else if (exp != 0) {
    f = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    f = sign;
  } else {  // subnormal: normalise
    std::uint32_t e = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    f = sign | (e << 23) | ((mant & 0x3FFu) << 13);
  }
  float out;
  std::memcpy(&out, &f, sizeof out);
  return out;
}

/// bfloat16 bits -> float32 (exact).
inline float bf16_bits_to_float(std::uint16_t b) noexcept {
  const std::uint32_t f = static_cast<std::uint32_t>(b) << 16;
  float out;
  std::memcpy(&out, &f, sizeof out);
  return out;
}

/// IEEE binary16 value.
struct half {
  std::uint16_t bits = 0;
  half() = default;
  explicit half(float f) noexcept : bits(float_to_half_bits(f)) {}
  static half from_bits(std::uint16_t b) noexcept {
    half h;
    h.bits = b;
    return h;
  }
  explicit operator float() const noexcept { return half_bits_to_float(bits); }
};

}  // namespace wastenet
