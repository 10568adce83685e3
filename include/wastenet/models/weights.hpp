// wastenet/models/weights.hpp - reads a torchvision state_dict for a builder: checks every key
// and shape against the architecture and keeps track of what was used, so that a missing,
// misshapen or extra tensor is reported by name.
#pragma once

#include <cmath>
#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "wastenet/error.hpp"
#include "wastenet/io/safetensors.hpp"
#include "wastenet/nn/activation.hpp"
#include "wastenet/nn/conv.hpp"
#include "wastenet/nn/se.hpp"

namespace wastenet {

/// torchvision's _make_divisible: round channels to a multiple of `divisor`, never below 90%.
inline std::size_t make_divisible(double v, std::size_t divisor = 8) {
  const auto d = static_cast<double>(divisor);
  std::size_t nv = std::max(divisor, static_cast<std::size_t>(static_cast<long long>(v + d / 2) / static_cast<long long>(divisor)) * divisor);
  if (static_cast<double>(nv) < 0.9 * v) nv += divisor;
  return nv;
}

class WeightReader {
 public:
  WeightReader(const SafetensorsFile& file, std::string arch) : file_(file), arch_(std::move(arch)) {}

  const SafetensorsFile& file() const noexcept { return file_; }

  /// The float values of `name`, which must have exactly `shape`.
  std::vector<float> get(const std::string& name, const std::vector<std::size_t>& shape) {
    const TensorRecord* t = file_.find(name);
    if (!t) throw ModelError(file_.path() + ": missing tensor '" + name + "' required by " + arch_);
    if (t->shape != shape) {
      TensorRecord want;
      want.shape = shape;
      throw ModelError(file_.path() + ": tensor '" + name + "' has shape " + t->shape_string() + ", " + arch_ +
                       " needs " + want.shape_string());
    }
    if (!is_floating(t->dtype)) {
      throw ModelError(file_.path() + ": tensor '" + name + "' has dtype " + dtype_name(t->dtype) + ", expected a float type");
    }
    used_.insert(name);
    return file_.to_float(*t);
  }

  /// Shape of an existing tensor (for layers whose size is read from the file, like the classifier).
  const std::vector<std::size_t>& shape_of(const std::string& name) const {
    const TensorRecord* t = file_.find(name);
    if (!t) throw ModelError(file_.path() + ": missing tensor '" + name + "' required by " + arch_);
    return t->shape;
  }

  /// The leading dimension of a rank-2 tensor (a classifier's class count).
  std::size_t rows_of(const std::string& name) const {
    const auto& s = shape_of(name);
    if (s.size() != 2 || s[0] == 0) {
      throw ModelError(file_.path() + ": tensor '" + name + "' must be a non-empty matrix, has shape " + file_.find(name)->shape_string());
    }
    return s[0];
  }

  /// BatchNorm2d parameters under `prefix` (weight, bias, running_mean, running_var, num_batches_tracked).
  BatchNormParams batch_norm(const std::string& prefix, std::size_t channels, float eps) {
    BatchNormParams bn;
    bn.weight = get(prefix + ".weight", {channels});
    bn.bias = get(prefix + ".bias", {channels});
    bn.running_mean = get(prefix + ".running_mean", {channels});
    bn.running_var = get(prefix + ".running_var", {channels});
    for (float v : bn.running_var) {
      if (!(v >= 0.f) || !std::isfinite(v)) throw ModelError(file_.path() + ": '" + prefix + ".running_var' has a negative or non-finite value");
    }
    const std::string nbt = prefix + ".num_batches_tracked";
    const TensorRecord* t = file_.find(nbt);
    if (!t) throw ModelError(file_.path() + ": missing tensor '" + nbt + "' required by " + arch_);
    if (!t->shape.empty()) throw ModelError(file_.path() + ": tensor '" + nbt + "' has shape " + t->shape_string() + ", expected a scalar");
    used_.insert(nbt);
    bn.eps = eps;
    return bn;
  }

  /// torchvision's Conv2dNormActivation: conv `prefix.0` (no bias) + BN `prefix.1` + activation.
  std::unique_ptr<Conv2d> conv_bn_act(const std::string& prefix, std::size_t in, std::size_t out, std::size_t kernel,
                                      std::size_t stride, std::size_t groups, float eps, ActKind act,
                                      std::size_t dilation = 1) {
    ConvParams p;
    p.in_channels = in;
    p.out_channels = out;
    p.kernel_h = p.kernel_w = kernel;
    p.stride_h = p.stride_w = stride;
    p.pad_h = p.pad_w = (kernel - 1) / 2 * dilation;
    p.dilation_h = p.dilation_w = dilation;
    p.groups = groups;
    return conv_bn(prefix + ".0", prefix + ".1", p, eps, act);
  }

  /// A bias-free convolution `conv_name` followed by BN `bn_name`.
  std::unique_ptr<Conv2d> conv_bn(const std::string& conv_name, const std::string& bn_name, const ConvParams& p,
                                  float eps, ActKind act) {
    auto w = get(conv_name + ".weight", {p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w});
    const BatchNormParams bn = batch_norm(bn_name, p.out_channels, eps);
    return std::make_unique<Conv2d>(p, std::move(w), std::vector<float>{}, &bn, Activation{act});
  }

  /// torchvision's SqueezeExcitation under `prefix` (fc1, fc2 as 1x1 convs with bias).
  std::unique_ptr<SqueezeExcite> squeeze_excite(const std::string& prefix, std::size_t channels, std::size_t squeeze,
                                                ActKind act, ActKind gate) {
    auto w1 = get(prefix + ".fc1.weight", {squeeze, channels, 1, 1});
    auto b1 = get(prefix + ".fc1.bias", {squeeze});
    auto w2 = get(prefix + ".fc2.weight", {channels, squeeze, 1, 1});
    auto b2 = get(prefix + ".fc2.bias", {channels});
    return std::make_unique<SqueezeExcite>(channels, squeeze, std::move(w1), std::move(b1), std::move(w2), std::move(b2),
                                           Activation{act}, Activation{gate});
  }

  /// Throws ModelError naming the first tensor in the file that the architecture did not use.
  void expect_all_used() const {
    for (const auto& t : file_.tensors()) {
      if (!used_.count(t.name)) {
        throw ModelError(file_.path() + ": unexpected tensor '" + t.name + "' (not part of " + arch_ + ")");
      }
    }
  }

 private:
  const SafetensorsFile& file_;
  std::string arch_;
  std::set<std::string> used_;
};

}  // namespace wastenet
