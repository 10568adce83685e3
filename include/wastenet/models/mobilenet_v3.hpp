// wastenet/models/mobilenet_v3.hpp - torchvision 0.14's mobilenet_v3_small and mobilenet_v3_large
// (width 1.0, no dilation), any class count.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "wastenet/models/weights.hpp"
#include "wastenet/network.hpp"
#include "wastenet/nn/linear.hpp"

namespace wastenet {

/// One row of torchvision's InvertedResidualConfig table.
struct MobileNetV3Block {
  std::size_t in, kernel, expanded, out;
  bool se;
  bool hardswish;  // "HS", else "RE"
  std::size_t stride;
};

inline Network build_mobilenet_v3(WeightReader& w, bool large) {
  constexpr float eps = 1e-3f;  // partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
  const std::vector<MobileNetV3Block> small_cfg = {
      {16, 3, 16, 16, true, false, 2},   {16, 3, 72, 24, false, false, 2},  {24, 3, 88, 24, false, false, 1},
      {24, 5, 96, 40, true, true, 2},    {40, 5, 240, 40, true, true, 1},   {40, 5, 240, 40, true, true, 1},
      {40, 5, 120, 48, true, true, 1},   {48, 5, 144, 48, true, true, 1},   {48, 5, 288, 96, true, true, 2},
      {96, 5, 576, 96, true, true, 1},   {96, 5, 576, 96, true, true, 1}};
  const std::vector<MobileNetV3Block> large_cfg = {
      {16, 3, 16, 16, false, false, 1},  {16, 3, 64, 24, false, false, 2},  {24, 3, 72, 24, false, false, 1},
      {24, 5, 72, 40, true, false, 2},   {40, 5, 120, 40, true, false, 1},  {40, 5, 120, 40, true, false, 1},
      {40, 3, 240, 80, false, true, 2},  {80, 3, 200, 80, false, true, 1},  {80, 3, 184, 80, false, true, 1},
      {80, 3, 184, 80, false, true, 1},  {80, 3, 480, 112, true, true, 1},  {112, 3, 672, 112, true, true, 1},
      {112, 5, 672, 160, true, true, 2}, {160, 5, 960, 160, true, true, 1}, {160, 5, 960, 160, true, true, 1}};
  const auto& cfg = large ? large_cfg : small_cfg;
  const std::size_t last_channel = large ? 1280 : 1024;

  Network net;
  int x = net.add(w.conv_bn_act("features.0", 3, cfg.front().in, 3, 2, 1, eps, ActKind::hardswish), Network::input_slot);
  std::size_t idx = 1;
  for (const auto& b : cfg) {
    const std::string p = "features." + std::to_string(idx++) + ".block.";
    const ActKind act = b.hardswish ? ActKind::hardswish : ActKind::relu;
    const int block_in = x;
    int h = x;
    int k = 0;
    if (b.expanded != b.in) {
      h = net.add(w.conv_bn_act(p + std::to_string(k++), b.in, b.expanded, 1, 1, 1, eps, act), h, -1, {block_in});
    }
    h = net.add_fusable(
        w.conv_bn_act(p + std::to_string(k++), b.expanded, b.expanded, b.kernel, b.stride, b.expanded, eps, act), h,
        {block_in});
    if (b.se) {
      const std::size_t squeeze = make_divisible(static_cast<double>(b.expanded / 4));
      h = net.add(w.squeeze_excite(p + std::to_string(k++), b.expanded, squeeze, ActKind::relu, ActKind::hardsigmoid), h,
                  -1, {block_in});
    }
    const bool residual = b.stride == 1 && b.in == b.out;
    auto projection = w.conv_bn_act(p + std::to_string(k), b.expanded, b.out, 1, 1, 1, eps, ActKind::identity);
    if (b.se) {
      x = net.add(std::move(projection), h, residual ? block_in : -1);
    } else {  // right after the depthwise step, which it may join in one pass
      x = net.add_fusable_third(std::move(projection), h, residual ? block_in : -1);
    }
  }
  const std::size_t last_in = cfg.back().out, last_out = 6 * last_in;
  x = net.add(w.conv_bn_act("features." + std::to_string(idx), last_in, last_out, 1, 1, 1, eps, ActKind::hardswish), x);
  x = net.add(std::make_unique<GlobalAvgPool>(), x);
  auto w0 = w.get("classifier.0.weight", {last_channel, last_out});
  auto b0 = w.get("classifier.0.bias", {last_channel});
  x = net.add(std::make_unique<Linear>(last_out, last_channel, w0, std::move(b0), Activation{ActKind::hardswish}, w.precision()), x);
  const std::size_t classes = w.rows_of("classifier.3.weight");
  auto w3 = w.get("classifier.3.weight", {classes, last_channel});
  auto b3 = w.get("classifier.3.bias", {classes});
  net.add(std::make_unique<Linear>(last_channel, classes, w3, std::move(b3), Activation{}, w.precision()), x);
  return net;
}

}  // namespace wastenet
