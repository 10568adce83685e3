// wastenet/precision.hpp - the numeric precision a network runs in. Standard library only.
//
//   wastenet::LoadOptions opt;
//   opt.precision = wastenet::parse_precision("fp16");
//
// fp16 stores weights and the activations between layers as IEEE binary16 and accumulates in FP32:
// products are summed over up to thousands of channels, and a binary16 running sum (11-bit
// significand) would lose the small terms once it grows, which is where half-precision networks
// lose accuracy. Rounding happens once per tensor element, when a layer stores its output.
// One exception, for speed: on CPUs with AVX512-FP16 (KernelPath::avx512fp16) the 1x1 convolutions
// multiply in binary16 and sum runs of 32 products in binary16 before adding the runs in FP32, and
// 3x3 and 5x5 depthwise convolutions sum each kernel row's 3 or 5 taps in binary16 before adding
// the rows in FP32 (kernels/x86/f16_avx512fp16.hpp); WASTENET_KERNELS=avx512 keeps FP32
// accumulation there.
#pragma once

#include <string>

#include "wastenet/error.hpp"

namespace wastenet {

enum class Precision { fp32, fp16 };

inline const char* precision_name(Precision p) noexcept { return p == Precision::fp16 ? "fp16" : "fp32"; }

inline Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::fp32;
  if (s == "fp16") return Precision::fp16;
  throw ArgumentError("precision must be 'fp32' or 'fp16', got '" + s + "'");
}

}  // namespace wastenet
