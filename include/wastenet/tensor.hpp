// wastenet/tensor.hpp - Tensor<T>: a 4-D activation tensor on aligned storage.
//
// Built on xtensor: the storage is an xt::xtensor_container over an uninitialised, 64-byte
// aligned buffer, so xtensor's views, broadcasting and printing work on it, and the kernels
// get raw aligned pointers. The library computes in NHWC (channels-last): depthwise and 1x1
// convolutions then read contiguous channel vectors. NCHW exists only at the edges, for
// data coming from or going to PyTorch.
//
//   wastenet::Tensor<float> x({1, 224, 224, 3});        // NHWC, uninitialised
//   auto nchw = x.to_layout(wastenet::Layout::nchw);     // copy in PyTorch's order
#pragma once

#include <array>
#include <cstddef>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>

#include <xtensor/xadapt.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xstorage.hpp>
#include <xtensor/xtensor.hpp>

#include "wastenet/error.hpp"

namespace wastenet {

/// Alignment of every tensor buffer: one AVX-512 register, one cache line.
inline constexpr std::size_t tensor_alignment = 64;

/// Minimal aligned allocator (std::aligned_alloc), usable with any standard container.
template <class T, std::size_t Alignment = tensor_alignment>
struct AlignedAllocator {
  using value_type = T;
  template <class U>
  struct rebind {
    using other = AlignedAllocator<U, Alignment>;
  };
  AlignedAllocator() noexcept = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Alignment>&) noexcept {}

  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T) - Alignment) throw std::bad_alloc();
    std::size_t bytes = (n * sizeof(T) + Alignment - 1) / Alignment * Alignment;
    void* p = std::aligned_alloc(Alignment, bytes == 0 ? Alignment : bytes);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept { std::free(p); }
  template <class U>
  bool operator==(const AlignedAllocator<U, Alignment>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const AlignedAllocator<U, Alignment>&) const noexcept { return false; }
};

/// Memory order of the four dimensions.
enum class Layout { nhwc, nchw };

/// Shape as (n, h, w, c) whatever the layout: dimensions keep their meaning.
struct Shape4 {
  std::size_t n = 0, h = 0, w = 0, c = 0;
  std::size_t count() const noexcept { return n * h * w * c; }
  friend bool operator==(const Shape4& a, const Shape4& b) {
    return a.n == b.n && a.h == b.h && a.w == b.w && a.c == b.c;
  }
  friend bool operator!=(const Shape4& a, const Shape4& b) { return !(a == b); }
};

/// A dense 4-D tensor with element type T (float, or wastenet::half in FP16 paths).
template <class T>
class Tensor {
 public:
  using value_type = T;
  using buffer_type = xt::uvector<T, AlignedAllocator<T>>;
  using container_type = xt::xtensor_container<buffer_type, 4, xt::layout_type::row_major>;

  Tensor() = default;
  /// An uninitialised tensor of the given logical shape.
  explicit Tensor(Shape4 shape, Layout layout = Layout::nhwc) : shape_(shape), layout_(layout) {
    data_ = container_type::from_shape(storage_shape(shape, layout));
  }

  const Shape4& shape() const noexcept { return shape_; }
  Layout layout() const noexcept { return layout_; }
  std::size_t size() const noexcept { return data_.size(); }
  T* data() noexcept { return data_.data(); }
  const T* data() const noexcept { return data_.data(); }

  /// The underlying xtensor container (dimensions in storage order).
  container_type& xt() noexcept { return data_; }
  const container_type& xt() const noexcept { return data_; }

  /// Element (n, h, w, c), whatever the layout.
  T& at(std::size_t n, std::size_t h, std::size_t w, std::size_t c) {
    return layout_ == Layout::nhwc ? data_(n, h, w, c) : data_(n, c, h, w);
  }
  const T& at(std::size_t n, std::size_t h, std::size_t w, std::size_t c) const {
    return layout_ == Layout::nhwc ? data_(n, h, w, c) : data_(n, c, h, w);
  }

  /// A copy in the other memory order (or the same one).
  Tensor to_layout(Layout target) const {
    Tensor out(shape_, target);
    if (target == layout_) {
      out.data_ = data_;
    } else if (layout_ == Layout::nhwc) {
      out.data_ = xt::transpose(data_, {0, 3, 1, 2});
    } else {
      out.data_ = xt::transpose(data_, {0, 2, 3, 1});
    }
    return out;
  }

 private:
  static std::array<std::size_t, 4> storage_shape(Shape4 s, Layout layout) {
    return layout == Layout::nhwc ? std::array<std::size_t, 4>{s.n, s.h, s.w, s.c}
                                  : std::array<std::size_t, 4>{s.n, s.c, s.h, s.w};
  }

  Shape4 shape_{};
  Layout layout_ = Layout::nhwc;
  container_type data_;
};

}  // namespace wastenet
