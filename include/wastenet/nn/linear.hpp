// wastenet/nn/linear.hpp - global average pooling and fully connected layers of the classifier head.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "wastenet/error.hpp"
#include "wastenet/half.hpp"
#include "wastenet/kernels/channels.hpp"
#include "wastenet/kernels/convert.hpp"
#include "wastenet/nn/activation.hpp"
#include "wastenet/nn/dense.hpp"
#include "wastenet/nn/layer.hpp"

namespace wastenet {

/// [N, H, W, C] -> [N, 1, 1, C]: the mean over all pixels (AdaptiveAvgPool2d(1)).
class GlobalAvgPool final : public Layer {
 public:
  Shape4 output_shape(const Shape4& in) const override { return {in.n, 1, 1, in.c}; }
  void forward(const float* in, const Shape4& s, float* out, const float*, ThreadPool&) const override {
    const std::size_t hw = s.h * s.w;
    for (std::size_t n = 0; n < s.n; ++n) mean_of_image(in + n * hw * s.c, hw, s.c, out + n * s.c);
  }
  // Binary16 pixels are widened in registers as they are summed (no FP32 copy of the map); each
  // mean is rounded once, as the default's rounding of forward()'s output would.
  void forward_fp16(const half* in, const Shape4& s, half* out, const half* residual, ThreadPool&) const override {
    const std::size_t hw = s.h * s.w;
    static thread_local std::vector<float> mean;
    mean.resize(s.c);
    for (std::size_t n = 0; n < s.n; ++n) {
      mean_of_image(in + n * hw * s.c, hw, s.c, mean.data());
      kernels::float_to_half(conversion_path_, mean.data(), residual ? residual + n * s.c : nullptr, out + n * s.c, s.c);
    }
  }
  std::size_t parameter_bytes() const override { return 0; }
  std::string describe() const override { return "global_avg_pool"; }

 private:
  // o[c] = the mean of channel c over one image's hw pixels, summed in pixel order.
  template <class T>
  void mean_of_image(const T* pixels, std::size_t hw, std::size_t C, float* o) const {
    std::fill(o, o + C, 0.f);
    kernels::add_channel_sums(conversion_path_, pixels, hw, C, o);
    const float inv = 1.f / static_cast<float>(hw);
    for (std::size_t c = 0; c < C; ++c) o[c] *= inv;
  }
};

/// y = act(x W^T + b) on [N, 1, 1, in] -> [N, 1, 1, out]; weight in PyTorch's [out][in].
class Linear final : public Layer {
 public:
  Linear(std::size_t in_features, std::size_t out_features, const std::vector<float>& weight, std::vector<float> bias,
         Activation act, Precision precision = Precision::fp32)
      : in_(in_features), out_(out_features), act_(act) {
    if (weight.size() != in_ * out_ || bias.size() != out_) throw ArgumentError("Linear: weight/bias sizes do not match");
    dense_ = DenseProduct(in_, out_, weight, std::move(bias), act, precision);
  }
  std::size_t in_features() const noexcept { return in_; }
  std::size_t out_features() const noexcept { return out_; }

  Shape4 output_shape(const Shape4& in) const override {
    if (in.h * in.w * in.c != in_) throw ArgumentError("Linear: input has " + std::to_string(in.h * in.w * in.c) + " features, expected " + std::to_string(in_));
    return {in.n, 1, 1, out_};
  }
  void forward(const float* in, const Shape4& s, float* out, const float*, ThreadPool&) const override {
    dense_.run(in, out, s.n);
  }
  std::size_t parameter_bytes() const override { return dense_.parameter_bytes(); }
  std::string describe() const override {
    return "linear " + std::to_string(in_) + "->" + std::to_string(out_) + " " + activation_name(act_.kind);
  }

 private:
  std::size_t in_, out_;
  DenseProduct dense_;
  Activation act_;
};

}  // namespace wastenet
