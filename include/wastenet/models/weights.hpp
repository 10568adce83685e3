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
#include "wastenet/precision.hpp"

namespace wastenet {

/// torchvision's _make_divisible: round channels to a multiple of `divisor`, never below 90%.
inline std::size_t make_divisible(double v, std::size_t divisor = 8) {
  const auto d = static_cast<double>(divisor);
  std::size_t nv = std::max(divisor, static_cast<std::size_t>(static_cast<long long>(v + d / 2) / static_cast<long long>(divisor)) * divisor);
  if (static_cast<double>(nv) < 0.9 * v) nv += divisor;
  return nv;
}

/// One tensor of a packed model: what a builder used, with batch norm already folded in.
struct PackedTensor {
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<float> values;
};

/// Metadata value marking a packed file (`"packed": "bn_folded"`): every convolution that torchvision
/// follows with a batch norm carries the folded weight and a `bias` instead, and the batch-norm
/// tensors are absent.
inline constexpr const char* packed_bn_folded = "bn_folded";

class WeightReader {
 public:
  WeightReader(const SafetensorsFile& file, std::string arch, Precision precision = Precision::fp32)
      : file_(file), arch_(std::move(arch)), precision_(precision) {
    const std::string packing = file_.meta("packed");
    if (!packing.empty() && packing != packed_bn_folded) {
      throw ModelError(file_.path() + ": metadata 'packed' is '" + packing + "'; the only packing is '" + packed_bn_folded + "'");
    }
    packed_ = !packing.empty();
  }

  /// From now on, every tensor a builder uses is appended to `out`, convolutions with their batch
  /// norm folded in: the contents of a packed file (wastenet-pack).
  void record_into(std::vector<PackedTensor>* out) noexcept { record_ = out; }
  /// True if the file was written by wastenet-pack.
  bool packed() const noexcept { return packed_; }

  const SafetensorsFile& file() const noexcept { return file_; }
  /// The precision the layers are built for.
  Precision precision() const noexcept { return precision_; }

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
    std::vector<float> values = file_.to_float(*t);
    if (record_) record_->push_back({name, shape, values});
    return values;
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
  /// In a packed file: the folded convolution `conv_name` with its bias, and no batch norm.
  std::unique_ptr<Conv2d> conv_bn(const std::string& conv_name, const std::string& bn_name, const ConvParams& p,
                                  float eps, ActKind act) {
    auto w = get(conv_name + ".weight", {p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w});
    if (packed_) {
      auto b = get(conv_name + ".bias", {p.out_channels});
      return std::make_unique<Conv2d>(p, std::move(w), std::move(b), nullptr, Activation{act}, precision_);
    }
    const BatchNormParams bn = batch_norm(bn_name, p.out_channels, eps);
    if (record_) {  // replace the four batch-norm records and the raw weight by the folded pair
      record_->resize(record_->size() - 4);
      PackedTensor& weight = record_->back();
      std::vector<float> bias;
      fold_batch_norm(weight.values, bias, p.out_channels, bn);
      record_->push_back({conv_name + ".bias", {p.out_channels}, std::move(bias)});
    }
    return std::make_unique<Conv2d>(p, std::move(w), std::vector<float>{}, &bn, Activation{act}, precision_);
  }

  /// torchvision's SqueezeExcitation under `prefix` (fc1, fc2 as 1x1 convs with bias).
  std::unique_ptr<SqueezeExcite> squeeze_excite(const std::string& prefix, std::size_t channels, std::size_t squeeze,
                                                ActKind act, ActKind gate) {
    auto w1 = get(prefix + ".fc1.weight", {squeeze, channels, 1, 1});
    auto b1 = get(prefix + ".fc1.bias", {squeeze});
    auto w2 = get(prefix + ".fc2.weight", {channels, squeeze, 1, 1});
    auto b2 = get(prefix + ".fc2.bias", {channels});
    return std::make_unique<SqueezeExcite>(channels, squeeze, std::move(w1), std::move(b1), std::move(w2), std::move(b2),
                                           Activation{act}, Activation{gate}, precision_);
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
  Precision precision_;
  bool packed_ = false;
  std::vector<PackedTensor>* record_ = nullptr;
  std::set<std::string> used_;
};

}  // namespace wastenet
