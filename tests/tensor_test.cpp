#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "wastenet/half.hpp"
#include "wastenet/tensor.hpp"

namespace {

TEST(Tensor, AlignedAndLayoutRoundTrip) {
  wastenet::Tensor<float> t(wastenet::Shape4{2, 3, 4, 5});
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % wastenet::tensor_alignment, 0u);
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = static_cast<float>(i);
  const auto nchw = t.to_layout(wastenet::Layout::nchw);
  EXPECT_EQ(nchw.layout(), wastenet::Layout::nchw);
  EXPECT_EQ(nchw.at(1, 2, 3, 4), t.at(1, 2, 3, 4));
  EXPECT_EQ(nchw.data()[((1 * 5 + 4) * 3 + 2) * 4 + 3], t.at(1, 2, 3, 4));  // n, c, h, w
  const auto back = nchw.to_layout(wastenet::Layout::nhwc);
  EXPECT_EQ(std::memcmp(back.data(), t.data(), t.size() * sizeof(float)), 0);
}

TEST(Half, KnownValues) {
  EXPECT_EQ(wastenet::half(1.0f).bits, 0x3C00);
  EXPECT_EQ(wastenet::half(-2.0f).bits, 0xC000);
  EXPECT_EQ(wastenet::half(65504.0f).bits, 0x7BFF);
  EXPECT_EQ(wastenet::half(65520.0f).bits, 0x7C00);           // rounds to infinity
  EXPECT_EQ(wastenet::half(5.960464477539063e-08f).bits, 0x0001);  // smallest subnormal
  EXPECT_EQ(wastenet::half(2.98023223876953125e-08f).bits, 0x0000);  // halfway to zero: even
  EXPECT_EQ(wastenet::half(1.0f + 1.0f / 2048).bits, 0x3C00);  // halfway: rounds to even
  EXPECT_EQ(wastenet::half(1.0f + 3.0f / 2048).bits, 0x3C02);
  EXPECT_EQ(static_cast<float>(wastenet::half::from_bits(0x2E66)), 0.0999755859375f);
}

TEST(Half, EveryHalfRoundTrips) {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const float f = wastenet::half_bits_to_float(static_cast<std::uint16_t>(b));
    if (std::isnan(f)) continue;
    ASSERT_EQ(wastenet::float_to_half_bits(f), b) << b;
  }
}

}  // namespace
