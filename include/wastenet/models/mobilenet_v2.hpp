// wastenet/models/mobilenet_v2.hpp - torchvision 0.14's mobilenet_v2 (width 1.0), any class count.
#pragma once

#include <cmath>
#include <memory>
#include <string>

#include "wastenet/models/weights.hpp"
#include "wastenet/network.hpp"
#include "wastenet/nn/linear.hpp"

namespace wastenet {

/// Builds mobilenet_v2 from a state_dict; the class count is read from classifier.1.weight.
inline Network build_mobilenet_v2(WeightReader& w) {
  constexpr float eps = 1e-5f;  // nn.BatchNorm2d default
  struct Setting { std::size_t t, c, n, s; };
  const Setting settings[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                              {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  Network net;
  std::size_t in_c = make_divisible(32.0);
  int x = net.add(w.conv_bn_act("features.0", 3, in_c, 3, 2, 1, eps, ActKind::relu6), Network::input_slot);
  int idx = 1;
  for (const auto& st : settings) {
    const std::size_t out_c = make_divisible(static_cast<double>(st.c));
    for (std::size_t i = 0; i < st.n; ++i, ++idx) {
      const std::size_t stride = i == 0 ? st.s : 1;
      const std::size_t hidden = static_cast<std::size_t>(std::lround(static_cast<double>(in_c * st.t)));
      const std::string p = "features." + std::to_string(idx) + ".conv.";
      const int block_in = x;
      int h = x;
      int k = 0;
      if (st.t != 1) {
        h = net.add(w.conv_bn_act(p + "0", in_c, hidden, 1, 1, 1, eps, ActKind::relu6), h, -1, {block_in});
        k = 1;
      }
      h = net.add_fusable(w.conv_bn_act(p + std::to_string(k), hidden, hidden, 3, stride, hidden, eps, ActKind::relu6), h,
                           {block_in});
      ConvParams proj;
      proj.in_channels = hidden;
      proj.out_channels = out_c;
      const bool residual = stride == 1 && in_c == out_c;
      x = net.add_fusable_third(
          w.conv_bn(p + std::to_string(k + 1), p + std::to_string(k + 2), proj, eps, ActKind::identity), h,
          residual ? block_in : -1);
      in_c = out_c;
    }
  }
  const std::size_t last = make_divisible(1280.0);
  x = net.add(w.conv_bn_act("features." + std::to_string(idx), in_c, last, 1, 1, 1, eps, ActKind::relu6), x);
  x = net.add(std::make_unique<GlobalAvgPool>(), x);
  const std::size_t classes = w.rows_of("classifier.1.weight");
  auto fc_w = w.get("classifier.1.weight", {classes, last});
  auto fc_b = w.get("classifier.1.bias", {classes});
  net.add(std::make_unique<Linear>(last, classes, fc_w, std::move(fc_b), Activation{}, w.precision()), x);
  return net;
}

}  // namespace wastenet
