// wastenet/nn/layer.hpp - the operator interface: created once with its (packed) weights,
// then run many times, from many threads at once, on new inputs. Operators hold no
// per-call state; activations live in the caller's workspace.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "wastenet/error.hpp"
#include "wastenet/half.hpp"
#include "wastenet/kernels/convert.hpp"
#include "wastenet/kernels/dispatch.hpp"
#include "wastenet/parallel.hpp"
#include "wastenet/tensor.hpp"

namespace wastenet {

class Layer {
 public:
  Layer() : conversion_path_(kernel_path()) {}
  virtual ~Layer() = default;
  /// Output shape for an NHWC input of shape `in`; throws ArgumentError if the input does not fit.
  virtual Shape4 output_shape(const Shape4& in) const = 0;
  /// Computes out = layer(in) [+ residual]. `in` and `out` are NHWC; `out` == `in` for in-place layers.
  virtual void forward(const float* in, const Shape4& in_shape, float* out, const float* residual,
                       ThreadPool& pool) const = 0;
  /// The same on binary16 activations, accumulating in FP32. This default widens the whole input,
  /// runs the FP32 forward and rounds the output once (adding the residual before rounding);
  /// layers where the extra passes matter convert block by block instead.
  virtual void forward_fp16(const half* in, const Shape4& in_shape, half* out, const half* residual,
                            ThreadPool& pool) const {
    // Per-thread scratch: grows to the largest tensor once, then no allocation per call.
    static thread_local std::vector<float, AlignedAllocator<float>> wide_in, wide_out;
    const Shape4 o = output_shape(in_shape);
    if (wide_in.size() < in_shape.count()) wide_in.resize(in_shape.count());
    float* fout = wide_in.data();
    if (!in_place()) {
      if (wide_out.size() < o.count()) wide_out.resize(o.count());
      fout = wide_out.data();
    }
    const KernelPath path = conversion_path_;
    float* fin = wide_in.data();
    pool.parallel_for(in_shape.count(), [&](std::size_t b, std::size_t e) {
      kernels::half_to_float(path, in + b, fin + b, e - b);
    }, 4096);
    forward(fin, in_shape, fout, nullptr, pool);
    pool.parallel_for(o.count(), [&](std::size_t b, std::size_t e) {
      kernels::float_to_half(path, fout + b, residual ? residual + b : nullptr, out + b, e - b);
    }, 4096);
  }
  /// True if the layer writes its output over its input.
  virtual bool in_place() const { return false; }

  /// Whether this layer and `next`, which reads this layer's output and nothing else reads, run
  /// faster as one pass on an input of shape `in` (Network::plan asks; the default is no). The
  /// fused pass must give the same bits as the two layers one after the other.
  virtual bool fuses_with(const Layer& next, const Shape4& in) const {
    (void)next;
    (void)in;
    return false;
  }
  /// Whether a pass fusing this layer with `next` (fuses_with said yes) also takes `then`, which
  /// reads next's output and nothing else reads (the projection after an expansion and its
  /// depthwise layer): next's output is then never written either. The default is no.
  virtual bool fuses_third(const Layer& next, const Layer& then, const Shape4& in) const {
    (void)next, (void)then, (void)in;
    return false;
  }
  /// out = next(this(in)) [+ residual of `next`], or then(next(this(in))) [+ residual of `then`]
  /// when `then` is given, without writing the outputs of this layer or `next`; only called where
  /// fuses_with() said yes.
  virtual void forward_fused(const Layer& next, const Layer* then, const float* in, const Shape4& in_shape, float* out,
                             const float* residual, ThreadPool& pool) const {
    (void)next, (void)then, (void)in, (void)in_shape, (void)out, (void)residual, (void)pool;
    throw ArgumentError(describe() + ": no fused forward");
  }
  virtual void forward_fused_fp16(const Layer& next, const Layer* then, const half* in, const Shape4& in_shape,
                                  half* out, const half* residual, ThreadPool& pool) const {
    (void)next, (void)then, (void)in, (void)in_shape, (void)out, (void)residual, (void)pool;
    throw ArgumentError(describe() + ": no fused forward");
  }
  /// Bytes of packed parameters.
  virtual std::size_t parameter_bytes() const = 0;
  /// One line for logs: "conv 3x3/2 3->32 relu6".
  virtual std::string describe() const = 0;

 protected:
  KernelPath conversion_path_;  // the kernel path at creation, which also converts FP16 storage
};

}  // namespace wastenet
