// wastenet/nn/layer.hpp - the operator interface: created once with its (packed) weights,
// then run many times, from many threads at once, on new inputs. Operators hold no
// per-call state; activations live in the caller's workspace.
#pragma once

#include <cstddef>
#include <string>

#include "wastenet/parallel.hpp"
#include "wastenet/tensor.hpp"

namespace wastenet {

class Layer {
 public:
  virtual ~Layer() = default;
  /// Output shape for an NHWC input of shape `in`; throws ArgumentError if the input does not fit.
  virtual Shape4 output_shape(const Shape4& in) const = 0;
  /// Computes out = layer(in) [+ residual]. `in` and `out` are NHWC; `out` == `in` for in-place layers.
  virtual void forward(const float* in, const Shape4& in_shape, float* out, const float* residual,
                       ThreadPool& pool) const = 0;
  /// True if the layer writes its output over its input.
  virtual bool in_place() const { return false; }
  /// Bytes of packed parameters.
  virtual std::size_t parameter_bytes() const = 0;
  /// One line for logs: "conv 3x3/2 3->32 relu6".
  virtual std::string describe() const = 0;
};

}  // namespace wastenet
