// wastenet/models/efficientnet.hpp - torchvision 0.14's efficientnet_b0 ... efficientnet_b7, any class count.
#pragma once

#include <cmath>
#include <memory>
#include <string>

#include "wastenet/models/weights.hpp"
#include "wastenet/network.hpp"
#include "wastenet/nn/linear.hpp"

namespace wastenet {

/// Width and depth multipliers, default resolution and BN epsilon of efficientnet_b<variant>.
struct EfficientNetScaling {
  double width, depth;
  std::size_t resolution;
  float eps;
};

inline EfficientNetScaling efficientnet_scaling(int variant) {
  static const EfficientNetScaling table[] = {
      {1.0, 1.0, 224, 1e-5f}, {1.0, 1.1, 240, 1e-5f}, {1.1, 1.2, 260, 1e-5f}, {1.2, 1.4, 300, 1e-5f},
      {1.4, 1.8, 380, 1e-5f}, {1.6, 2.2, 456, 1e-3f}, {1.8, 2.6, 528, 1e-3f}, {2.0, 3.1, 600, 1e-3f}};
  if (variant < 0 || variant > 7) throw ArgumentError("efficientnet variant must be 0..7");
  return table[variant];  // b5..b7 were ported from TensorFlow with eps=1e-3
}

inline Network build_efficientnet(WeightReader& w, int variant) {
  const EfficientNetScaling sc = efficientnet_scaling(variant);
  const float eps = sc.eps;
  struct Stage { std::size_t expand, kernel, stride, in, out, layers; };
  const Stage stages[] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},  {6, 5, 2, 24, 40, 2},  {6, 3, 2, 40, 80, 3},
                          {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1}};
  auto width = [&](std::size_t c) { return make_divisible(static_cast<double>(c) * sc.width); };

  Network net;
  int x = net.add(w.conv_bn_act("features.0", 3, width(32), 3, 2, 1, eps, ActKind::silu), Network::input_slot);
  std::size_t stage_idx = 1;
  for (const auto& st : stages) {
    const std::size_t layers = static_cast<std::size_t>(std::ceil(static_cast<double>(st.layers) * sc.depth));
    std::size_t in_c = width(st.in);
    const std::size_t out_c = width(st.out);
    for (std::size_t i = 0; i < layers; ++i) {
      const std::size_t stride = i == 0 ? st.stride : 1;
      if (i > 0) in_c = out_c;
      const std::size_t expanded = make_divisible(static_cast<double>(in_c * st.expand));
      const std::string p = "features." + std::to_string(stage_idx) + "." + std::to_string(i) + ".block.";
      const int block_in = x;
      int h = x;
      int k = 0;
      if (expanded != in_c) {
        h = net.add(w.conv_bn_act(p + std::to_string(k++), in_c, expanded, 1, 1, 1, eps, ActKind::silu), h, -1, {block_in});
      }
      h = net.add_fusable(
          w.conv_bn_act(p + std::to_string(k++), expanded, expanded, st.kernel, stride, expanded, eps, ActKind::silu), h,
          {block_in});
      const std::size_t squeeze = std::max<std::size_t>(1, in_c / 4);
      h = net.add(w.squeeze_excite(p + std::to_string(k++), expanded, squeeze, ActKind::silu, ActKind::sigmoid), h, -1,
                  {block_in});
      const bool residual = stride == 1 && in_c == out_c;
      x = net.add(w.conv_bn_act(p + std::to_string(k), expanded, out_c, 1, 1, 1, eps, ActKind::identity), h,
                  residual ? block_in : -1);
    }
    ++stage_idx;
  }
  const std::size_t last_in = width(320), last_out = 4 * last_in;
  x = net.add(w.conv_bn_act("features." + std::to_string(stage_idx), last_in, last_out, 1, 1, 1, eps, ActKind::silu), x);
  x = net.add(std::make_unique<GlobalAvgPool>(), x);
  const std::size_t classes = w.rows_of("classifier.1.weight");
  auto fc_w = w.get("classifier.1.weight", {classes, last_out});
  auto fc_b = w.get("classifier.1.bias", {classes});
  net.add(std::make_unique<Linear>(last_out, classes, fc_w, std::move(fc_b), Activation{}, w.precision()), x);
  return net;
}

}  // namespace wastenet
