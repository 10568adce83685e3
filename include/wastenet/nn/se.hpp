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
#include "wastenet/kernels/channels.hpp"
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
    run(in, s, out, pool);
  }
  void forward_fp16(const half* in, const Shape4& s, half* out, const half*, ThreadPool& pool) const override {
    run(in, s, out, pool);
  }

  std::size_t parameter_bytes() const override { return fc1_.parameter_bytes() + fc2_.parameter_bytes(); }
  std::string describe() const override {
    return "se " + std::to_string(c_) + "->" + std::to_string(s_) + " " + activation_name(act_.kind) + "/" + activation_name(gate_.kind);
  }

 private:
  // Pixels per partial sum of the mean: small, so even a 7x7 map is pooled by both of 2 threads.
  static constexpr std::size_t pool_block = 32;

  template <class T>
  void run(const T* in, const Shape4& s, T* out, ThreadPool& pool) const {
    const std::size_t hw = s.h * s.w;
    // The mean is summed in blocks of pool_block pixels, each block in pixel order, then the blocks in
    // order: the same bits for any thread count, and each thread pools the pixels it just produced
    // (pooling on one thread made SE slower on 2 threads than on 1: half the tensor sat in the other
    // core's cache).
    const std::size_t blocks = (hw + pool_block - 1) / pool_block;
    // The calling thread's scratch, reused from call to call. The workers reach it through these
    // pointers: named inside the lambdas, a thread_local would be each worker's own.
    static thread_local std::vector<float> partial_buf, scale_buf, mean_buf, hidden_buf;
    partial_buf.assign(s.n * blocks * c_, 0.f);
    scale_buf.resize(s.n * c_);
    mean_buf.resize(c_);
    hidden_buf.resize(s_);
    float* const partial = partial_buf.data();
    float* const scale = scale_buf.data();
    pool.parallel_for(s.n * blocks, [&](std::size_t b, std::size_t e) {
      for (std::size_t j = b; j < e; ++j) {
        const std::size_t n = j / blocks, p = (j % blocks) * pool_block, m = std::min(pool_block, hw - p);
        kernels::add_channel_sums(conversion_path_, in + (n * hw + p) * c_, m, c_, partial + j * c_);
      }
    });
    const float inv = 1.f / static_cast<float>(hw);
    for (std::size_t n = 0; n < s.n; ++n) {
      std::fill(mean_buf.begin(), mean_buf.end(), 0.f);
      // The blocks' sums, in block order: a block is to this pass what a pixel is to pooling.
      kernels::add_channel_sums(conversion_path_, partial + n * blocks * c_, blocks, c_, mean_buf.data());
      for (auto& v : mean_buf) v *= inv;
      fc1_.run(mean_buf.data(), hidden_buf.data(), 1);  // act(fc1(mean)), then gate(fc2(...)): packed GEMMs
      fc2_.run(hidden_buf.data(), scale + n * c_, 1);
    }
    pool.parallel_for(s.n * hw, [&](std::size_t b, std::size_t e) {
      for (std::size_t p = b; p < e;) {
        const std::size_t m = std::min(e - p, hw - p % hw);  // one image's gates per call
        // out may be in: scaling is element-wise; binary16 is widened, scaled and rounded in registers
        kernels::scale_channels(conversion_path_, in + p * c_, m, c_, scale + (p / hw) * c_, out + p * c_);
        p += m;
      }
    }, 8);
  }

  std::size_t c_, s_;
  Activation act_, gate_;
  DenseProduct fc1_, fc2_;
};

}  // namespace wastenet
