// wastenet/network.hpp - a feed-forward network of operators over a small arena of buffers.
//
// Builders add layers in execution order and name which buffer (slot) each reads, writes and
// adds as residual; the network reuses slots as soon as a tensor is dead, so a MobileNet runs
// in three activation buffers whatever its depth. A Workspace holds those buffers for one
// input shape and one caller at a time; the Network itself is immutable after building and
// can be shared by any number of threads.
//
//   wastenet::Network::Workspace ws;
//   wastenet::Tensor<float> logits = net.forward(input_nhwc, ws, pool);
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wastenet/error.hpp"
#include "wastenet/half.hpp"
#include "wastenet/kernels/convert.hpp"
#include "wastenet/nn/layer.hpp"
#include "wastenet/parallel.hpp"
#include "wastenet/precision.hpp"
#include "wastenet/tensor.hpp"

namespace wastenet {

class Network {
 public:
  struct Step {
    std::unique_ptr<Layer> layer;
    int in = 0, out = 0, residual = -1;
  };

  /// Buffers for one caller; re-planned when the input shape changes.
  struct Workspace {
    Shape4 planned{};
    std::vector<Shape4> shapes;  // output shape of each step
    std::vector<std::vector<float, AlignedAllocator<float>>> slots;      // FP32 networks
    std::vector<std::vector<half, AlignedAllocator<half>>> half_slots;   // FP16 networks
    /// fused[i]: how many of the steps after step i run in one pass with it (0, 1 or 2;
    /// Layer::fuses_with, Layer::fuses_third). The outputs of all but the pass's last step are
    /// never written. Set `fusion` to false to run every step on its own.
    std::vector<unsigned char> fused;
    bool fusion = true;
    bool planned_fusion = true;  // the `fusion` the plan was made with
    std::size_t bytes() const {
      std::size_t b = 0;
      for (const auto& s : slots) b += s.capacity() * sizeof(float);
      for (const auto& s : half_slots) b += s.capacity() * sizeof(half);
      return b;
    }
  };

  Network() = default;
  Network(Network&&) noexcept = default;
  Network& operator=(Network&&) noexcept = default;

  /// The slot the input is placed in.
  static constexpr int input_slot = 0;

  /// Appends `layer` reading slot `in` (plus `residual` added in the epilogue) and returns the
  /// slot it writes. Slots listed in `keep` stay untouched because a later step still reads them.
  int add(std::unique_ptr<Layer> layer, int in, int residual = -1, std::initializer_list<int> keep = {}) {
    return add_step(std::move(layer), in, residual, std::vector<int>(keep));
  }

  /// add() for a step that may run fused with the step before it (Layer::fuses_with, the
  /// depthwise step after a stem or an expansion): its output also keeps off the slot the step
  /// before read, which the fused pass still reads while it writes.
  int add_fusable(std::unique_ptr<Layer> layer, int in, std::initializer_list<int> keep = {}) {
    std::vector<int> busy(keep);
    if (!steps_.empty()) busy.push_back(steps_.back().in);
    return add_step(std::move(layer), in, -1, busy);
  }

  /// add() for the step after a fusable one (the projection after a depthwise step, which
  /// Layer::fuses_third may add to the pass): its output also keeps off the slot the pass's first
  /// step read, which the pass still reads while it writes.
  int add_fusable_third(std::unique_ptr<Layer> layer, int in, int residual = -1) {
    std::vector<int> busy;
    if (steps_.size() >= 2) busy.push_back(steps_[steps_.size() - 2].in);
    return add_step(std::move(layer), in, residual, busy);
  }

  const std::vector<Step>& steps() const noexcept { return steps_; }

  /// The precision of the activations between layers; the layers' weights were rounded to match
  /// when they were created (LoadOptions::precision).
  Precision precision() const noexcept { return precision_; }
  /// Also records the kernel path now in force, which converts the input and the logits.
  void set_precision(Precision p) {
    precision_ = p;
    conversion_path_ = kernel_path();
  }
  std::size_t parameter_bytes() const {
    std::size_t b = 0;
    for (const auto& s : steps_) b += s.layer->parameter_bytes();
    return b;
  }

  /// Shapes and buffer sizes for an input shape (NHWC).
  void plan(const Shape4& input, Workspace& ws) const {
    const bool planned_fp16 = !ws.half_slots.empty();
    if (ws.planned == input && ws.shapes.size() == steps_.size() && planned_fp16 == (precision_ == Precision::fp16) &&
        ws.planned_fusion == ws.fusion) {
      return;
    }
    std::vector<Shape4> slot_shape(static_cast<std::size_t>(slot_count_));
    std::vector<std::size_t> capacity(static_cast<std::size_t>(slot_count_), 0);
    slot_shape[input_slot] = input;
    capacity[input_slot] = input.count();
    ws.shapes.clear();
    ws.fused.assign(steps_.size(), 0);
    std::size_t pass_end = 0;  // steps before this belong to a pass already planned
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      const Step& s = steps_[i];
      const Shape4 in = slot_shape[static_cast<std::size_t>(s.in)];
      if (ws.fusion && i >= pass_end && can_fuse(i) && s.layer->fuses_with(*steps_[i + 1].layer, in)) {
        ws.fused[i] = 1;
        if (can_fuse_third(i) && s.layer->fuses_third(*steps_[i + 1].layer, *steps_[i + 2].layer, in)) ws.fused[i] = 2;
        pass_end = i + 1 + ws.fused[i];
      }
      const Shape4 out = s.layer->output_shape(in);
      if (s.residual >= 0 && slot_shape[static_cast<std::size_t>(s.residual)] != out) {
        throw ArgumentError("Network: residual shape does not match output of '" + s.layer->describe() + "'");
      }
      slot_shape[static_cast<std::size_t>(s.out)] = out;
      // Only a pass's last step writes its output.
      if (!ws.fused[i] && !(i > 0 && ws.fused[i - 1] == 2)) {
        capacity[static_cast<std::size_t>(s.out)] = std::max(capacity[static_cast<std::size_t>(s.out)], out.count());
      }
      ws.shapes.push_back(out);
    }
    const std::size_t n = static_cast<std::size_t>(slot_count_);
    if (precision_ == Precision::fp16) {
      ws.slots.clear();
      ws.half_slots.resize(n);
      for (std::size_t i = 0; i < n; ++i) ws.half_slots[i].resize(capacity[i]);
    } else {
      ws.half_slots.clear();
      ws.slots.resize(n);
      for (std::size_t i = 0; i < n; ++i) ws.slots[i].resize(capacity[i]);
    }
    ws.planned = input;
    ws.planned_fusion = ws.fusion;
  }

  /// Runs the network on an NHWC float input; returns the last step's output. An FP16 network
  /// rounds the input to binary16 like every other activation and widens the logits back.
  Tensor<float> forward(const Tensor<float>& input, Workspace& ws, ThreadPool& pool) const {
    if (input.layout() != Layout::nhwc) return forward(input.to_layout(Layout::nhwc), ws, pool);
    return forward(input.data(), input.shape(), ws, pool);
  }

  /// The same on `shape.count()` NHWC floats at `input` (one image of a batch, without a copy).
  /// With `step_seconds`, each step's wall time is written to (*step_seconds)[i]: per-layer
  /// profiling (wastenet-bench-forward --layers); without it no clock is read.
  Tensor<float> forward(const float* input, const Shape4& shape, Workspace& ws, ThreadPool& pool,
                        std::vector<double>* step_seconds = nullptr) const {
    plan(shape, ws);
    if (step_seconds) step_seconds->assign(steps_.size(), 0.0);
    if (precision_ == Precision::fp16) return run_steps(ws.half_slots, input, shape, pool, ws.shapes, ws.fused, step_seconds);
    return run_steps(ws.slots, input, shape, pool, ws.shapes, ws.fused, step_seconds);
  }

 private:
  // Appends the step, writing the first slot that it does not read and `keep` does not list
  // (in-place layers write `in`).
  int add_step(std::unique_ptr<Layer> layer, int in, int residual, const std::vector<int>& keep) {
    int out = in;
    if (!layer->in_place()) {
      out = 0;
      auto busy = [&](int s) {
        return s == in || s == residual || std::find(keep.begin(), keep.end(), s) != keep.end();
      };
      while (busy(out)) ++out;
    }
    slot_count_ = std::max(slot_count_, out + 1);
    steps_.push_back(Step{std::move(layer), in, out, residual});
    return out;
  }

  // Whether steps i and i + 1 may run as one pass as far as the buffers go: i + 1 reads i's
  // output, which nothing after i + 1 reads before it is overwritten (the pass never writes it),
  // and i + 1 does not write over i's input while the pass still reads it.
  bool can_fuse(std::size_t i) const {
    if (i + 1 >= steps_.size()) return false;
    const Step& a = steps_[i];
    const Step& b = steps_[i + 1];
    if (b.in != a.out || a.residual >= 0 || b.out == a.in || b.out == a.out || b.residual == a.out) return false;
    return unread_from(a.out, i + 2);
  }

  // Whether the pass of steps i and i + 1 (can_fuse) may take step i + 2 as well: it reads i + 1's
  // output, which nothing after it reads before it is overwritten, and it writes over neither
  // step i's input, which the pass still reads, nor i + 1's output.
  bool can_fuse_third(std::size_t i) const {
    if (i + 2 >= steps_.size()) return false;
    const Step& a = steps_[i];
    const Step& b = steps_[i + 1];
    const Step& c = steps_[i + 2];
    if (c.in != b.out || b.residual >= 0 || c.out == a.in || c.out == b.out || c.residual == b.out) return false;
    return unread_from(b.out, i + 3);
  }

  // Whether no step from `first` on reads `slot` before a step overwrites it: what a fused pass
  // leaves unwritten there is never needed.
  bool unread_from(int slot, std::size_t first) const {
    for (std::size_t j = first; j < steps_.size(); ++j) {
      if (steps_[j].in == slot || steps_[j].residual == slot) return false;
      if (steps_[j].out == slot) return true;
    }
    return true;
  }

  template <class T>
  Tensor<float> run_steps(std::vector<std::vector<T, AlignedAllocator<T>>>& slots, const float* input,
                          const Shape4& input_shape, ThreadPool& pool, const std::vector<Shape4>& shapes,
                          const std::vector<unsigned char>& fused, std::vector<double>* step_seconds) const {
    auto slot = [&](int i) { return slots[static_cast<std::size_t>(i)].data(); };
    if constexpr (std::is_same_v<T, half>) {
      kernels::float_to_half(conversion_path_, input, nullptr, slot(input_slot), input_shape.count());
    } else {
      std::copy(input, input + input_shape.count(), slot(input_slot));
    }
    Shape4 cur_shape[8];
    cur_shape[input_slot] = input_shape;
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      const Step& s = steps_[i];
      const T* res = s.residual >= 0 ? slot(s.residual) : nullptr;
      const auto start = step_seconds ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
      if (fused[i]) {  // steps i to i + fused[i] as one pass; the time is step i's
        const Step& next = steps_[i + 1];
        const Layer* then = fused[i] == 2 ? steps_[i + 2].layer.get() : nullptr;
        const Step& last = steps_[i + fused[i]];
        const T* last_res = last.residual >= 0 ? slot(last.residual) : nullptr;
        if constexpr (std::is_same_v<T, half>) {
          s.layer->forward_fused_fp16(*next.layer, then, slot(s.in), cur_shape[s.in], slot(last.out), last_res, pool);
        } else {
          s.layer->forward_fused(*next.layer, then, slot(s.in), cur_shape[s.in], slot(last.out), last_res, pool);
        }
        if (step_seconds) (*step_seconds)[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        i += fused[i];
        cur_shape[last.out] = shapes[i];
        continue;
      }
      if constexpr (std::is_same_v<T, half>) {
        s.layer->forward_fp16(slot(s.in), cur_shape[s.in], slot(s.out), res, pool);
      } else {
        s.layer->forward(slot(s.in), cur_shape[s.in], slot(s.out), res, pool);
      }
      if (step_seconds) (*step_seconds)[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      cur_shape[s.out] = shapes[i];
    }
    const Shape4 out_shape = steps_.empty() ? input_shape : shapes.back();
    Tensor<float> out(out_shape);
    const T* last = slot(steps_.empty() ? input_slot : steps_.back().out);
    if constexpr (std::is_same_v<T, half>) {
      kernels::half_to_float(conversion_path_, last, out.data(), out_shape.count());
    } else {
      std::copy(last, last + out_shape.count(), out.data());
    }
    return out;
  }

  std::vector<Step> steps_;
  Precision precision_ = Precision::fp32;
  KernelPath conversion_path_ = KernelPath::portable;
  int slot_count_ = 1;
};

}  // namespace wastenet
