// wastenet/nn/se.hpp - squeeze-and-excitation, in place on an NHWC tensor.
//
// Both torchvision flavours: MobileNetV3 (ReLU, Hardsigmoid gate) and EfficientNet (SiLU,
// Sigmoid gate). fc1/fc2 are 1x1 convolutions with bias in torchvision.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "wastenet/error.hpp"
#include "wastenet/kernels/convert.hpp"
#include "wastenet/nn/activation.hpp"
#include "wastenet/nn/dense.hpp"
#include "wastenet/nn/layer.hpp"

namespace wastenet {

class SqueezeExcite final : public Layer {
 public:
  /// fc1_w [squeeze][channels], fc2_w [channels][squeeze] (PyTorch's conv weights, 1x1 dropped).
  SqueezeExcite(std::size_t channels, std::size_t squeeze, const std::vector<float>& fc1_w, std::vector<float> fc1_b,
                const std::vector<float>& fc2_w, std::vector<float> fc2_b, Activation act, Activation gate,
                Precision precision = Precision::fp32)
      : c_(channels), s_(squeeze), act_(act), gate_(gate) {
    if (fc1_w.size() != s_ * c_ || fc1_b.size() != s_ || fc2_w.size() != c_ * s_ || fc2_b.size() != c_) {
      throw ArgumentError("SqueezeExcite: weight sizes do not match channels/squeeze");
    }
    fc1_ = DenseProduct(c_, s_, fc1_w, std::move(fc1_b), act_, precision);
    fc2_ = DenseProduct(s_, c_, fc2_w, std::move(fc2_b), gate_, precision);
  }

  Shape4 output_shape(const Shape4& in) const override {
    if (in.c != c_) throw ArgumentError("SqueezeExcite: input has " + std::to_string(in.c) + " channels, expected " + std::to_string(c_));
    return in;
  }
  bool in_place() const override { return true; }

  void forward(const float* in, const Shape4& s, float* out, const float*, ThreadPool& pool) const override {
    const std::size_t hw = s.h * s.w;
    std::vector<float> scale(s.n * c_);
    for (std::size_t n = 0; n < s.n; ++n) {
      std::vector<float> mean(c_, 0.f), hidden(s_);
      const float* x = in + n * hw * c_;
      for (std::size_t p = 0; p < hw; ++p)
        for (std::size_t c = 0; c < c_; ++c) mean[c] += x[p * c_ + c];
      const float inv = 1.f / static_cast<float>(hw);
      for (auto& m : mean) m *= inv;
      fc1_.run(mean.data(), hidden.data(), 1);  // act(fc1(mean)), then gate(fc2(...)): packed GEMMs
      fc2_.run(hidden.data(), scale.data() + n * c_, 1);
    }
    pool.parallel_for(s.n * hw, [&](std::size_t b, std::size_t e) {
      for (std::size_t p = b; p < e; ++p) {
        const float* g = scale.data() + (p / hw) * c_;
        const float* x = in + p * c_;
        float* y = out + p * c_;
        for (std::size_t c = 0; c < c_; ++c) y[c] = x[c] * g[c];
      }
    }, 8);
  }

  /// FP16: the same computation, widening 32 pixels at a time (in FP32, in the same order).
  void forward_fp16(const half* in, const Shape4& s, half* out, const half*, ThreadPool& pool) const override {
    constexpr std::size_t chunk = 32;
    const std::size_t hw = s.h * s.w;
    const KernelPath path = conversion_path_;
    std::vector<float> scale(s.n * c_);
    {
      std::vector<float> mean(c_), hidden(s_), rows(chunk * c_);
      for (std::size_t n = 0; n < s.n; ++n) {
        std::fill(mean.begin(), mean.end(), 0.f);
        for (std::size_t p = 0; p < hw; p += chunk) {
          const std::size_t m = std::min(chunk, hw - p);
          kernels::half_to_float(path, in + (n * hw + p) * c_, rows.data(), m * c_);
          for (std::size_t i = 0; i < m; ++i)
            for (std::size_t c = 0; c < c_; ++c) mean[c] += rows[i * c_ + c];
        }
        const float inv = 1.f / static_cast<float>(hw);
        for (auto& v : mean) v *= inv;
        fc1_.run(mean.data(), hidden.data(), 1);
        fc2_.run(hidden.data(), scale.data() + n * c_, 1);
      }
    }
    pool.parallel_for(s.n * hw, [&](std::size_t b, std::size_t e) {
      static thread_local std::vector<float> rows;
      if (rows.size() < chunk * c_) rows.resize(chunk * c_);
      for (std::size_t p = b; p < e; p += chunk) {
        const std::size_t m = std::min(chunk, e - p);
        kernels::half_to_float(path, in + p * c_, rows.data(), m * c_);
        for (std::size_t i = 0; i < m; ++i) {
          const float* g = scale.data() + ((p + i) / hw) * c_;
          float* x = rows.data() + i * c_;
          for (std::size_t c = 0; c < c_; ++c) x[c] *= g[c];
        }
        kernels::float_to_half(path, rows.data(), nullptr, out + p * c_, m * c_);
      }
    }, 8);
  }

  std::size_t parameter_bytes() const override { return fc1_.parameter_bytes() + fc2_.parameter_bytes(); }
  std::string describe() const override {
    return "se " + std::to_string(c_) + "->" + std::to_string(s_) + " " + activation_name(act_.kind) + "/" + activation_name(gate_.kind);
  }

 private:
  std::size_t c_, s_;
  Activation act_, gate_;
  DenseProduct fc1_, fc2_;
};

}  // namespace wastenet
