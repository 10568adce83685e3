// wastenet/nn/activation.hpp - the activations torchvision's classifiers use, as PyTorch defines them.
//
// Applied inside the convolution epilogue, never as a separate pass over memory.
//
//   wastenet::Activation act{wastenet::ActKind::hardswish};
//   float y = act(x);
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "wastenet/error.hpp"

namespace wastenet {

enum class ActKind { identity, relu, relu6, silu, hardswish, hardsigmoid, sigmoid, mish, leaky_relu, gelu };

/// An activation function with its parameter (LeakyReLU's negative slope).
struct Activation {
  ActKind kind = ActKind::identity;
  float alpha = 0.01f;

  float operator()(float x) const noexcept {
    switch (kind) {
      case ActKind::identity: return x;
      case ActKind::relu: return x > 0.f ? x : 0.f;
      case ActKind::relu6: return std::min(std::max(x, 0.f), 6.f);
      case ActKind::silu: return x / (1.f + std::exp(-x));
      case ActKind::hardswish: return x * std::min(std::max(x + 3.f, 0.f), 6.f) * (1.f / 6.f);
      case ActKind::hardsigmoid: return std::min(std::max(x + 3.f, 0.f), 6.f) * (1.f / 6.f);
      case ActKind::sigmoid: return 1.f / (1.f + std::exp(-x));
      case ActKind::mish: {
        const float sp = x > 20.f ? x : std::log1p(std::exp(x));  // PyTorch's softplus threshold
        return x * std::tanh(sp);
      }
      case ActKind::leaky_relu: return x >= 0.f ? x : alpha * x;
      case ActKind::gelu: return 0.5f * x * (1.f + std::erf(x * 0.70710678118654752f));
    }
    return x;
  }

  /// Applies the activation to n values in place.
  void apply(float* x, std::size_t n) const noexcept {
    switch (kind) {  // the cheap ones as branch-free loops the compiler vectorises
      case ActKind::identity: return;
      case ActKind::relu:
        for (std::size_t i = 0; i < n; ++i) x[i] = std::max(x[i], 0.f);
        return;
      case ActKind::relu6:
        for (std::size_t i = 0; i < n; ++i) x[i] = std::min(std::max(x[i], 0.f), 6.f);
        return;
      case ActKind::hardswish:
        for (std::size_t i = 0; i < n; ++i) x[i] = x[i] * std::min(std::max(x[i] + 3.f, 0.f), 6.f) * (1.f / 6.f);
        return;
      case ActKind::hardsigmoid:
        for (std::size_t i = 0; i < n; ++i) x[i] = std::min(std::max(x[i] + 3.f, 0.f), 6.f) * (1.f / 6.f);
        return;
      default:
        for (std::size_t i = 0; i < n; ++i) x[i] = (*this)(x[i]);
    }
  }
};

inline const char* activation_name(ActKind k) noexcept {
  switch (k) {
    case ActKind::identity: return "identity";
    case ActKind::relu: return "relu";
    case ActKind::relu6: return "relu6";
    case ActKind::silu: return "silu";
    case ActKind::hardswish: return "hardswish";
    case ActKind::hardsigmoid: return "hardsigmoid";
    case ActKind::sigmoid: return "sigmoid";
    case ActKind::mish: return "mish";
    case ActKind::leaky_relu: return "leaky_relu";
    case ActKind::gelu: return "gelu";
  }
  return "?";
}

inline ActKind parse_activation(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(ActKind::gelu); ++i) {
    if (name == activation_name(static_cast<ActKind>(i))) return static_cast<ActKind>(i);
  }
  throw ArgumentError("unknown activation '" + name + "'");
}

}  // namespace wastenet
