// wastenet/image.hpp - an interleaved (HWC) image of uint8 or float samples.
//
// Standard library only: the augmentation toolkit and the image decoder build on it
// without pulling in any model code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace wastenet {

/// An image stored row by row, channels interleaved (HWC), as decoders and cameras deliver it.
/// `T` is `std::uint8_t` (0..255) or `float` (any range; 0..1 after scaling).
///
///   wastenet::Image<std::uint8_t> img(640, 480, 3);
///   img(10, 20, 0) = 255;  // row 10, column 20, red
template <class T>
class Image {
 public:
  using value_type = T;

  Image() = default;
  Image(int width, int height, int channels, T fill = T{}) : width_(width), height_(height), channels_(channels) {
    if (width <= 0 || height <= 0 || channels <= 0) {
      throw std::invalid_argument("wastenet::Image: width, height and channels must be positive (got " +
                                  std::to_string(width) + "x" + std::to_string(height) + "x" +
                                  std::to_string(channels) + ")");
    }
    pixels_.assign(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) *
                       static_cast<std::size_t>(channels), fill);
  }

  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }
  int channels() const noexcept { return channels_; }
  bool empty() const noexcept { return pixels_.empty(); }
  std::size_t size() const noexcept { return pixels_.size(); }
  std::size_t row_stride() const noexcept { return static_cast<std::size_t>(width_) * static_cast<std::size_t>(channels_); }

  T* data() noexcept { return pixels_.data(); }
  const T* data() const noexcept { return pixels_.data(); }
  T* row(int y) noexcept { return pixels_.data() + static_cast<std::size_t>(y) * row_stride(); }
  const T* row(int y) const noexcept { return pixels_.data() + static_cast<std::size_t>(y) * row_stride(); }

  T& operator()(int y, int x, int c) noexcept { return row(y)[static_cast<std::size_t>(x) * channels_ + c]; }
  const T& operator()(int y, int x, int c) const noexcept {
    return row(y)[static_cast<std::size_t>(x) * channels_ + c];
  }

  friend bool operator==(const Image& a, const Image& b) {
    return a.width_ == b.width_ && a.height_ == b.height_ && a.channels_ == b.channels_ && a.pixels_ == b.pixels_;
  }
  friend bool operator!=(const Image& a, const Image& b) { return !(a == b); }

 private:
  int width_ = 0;
  int height_ = 0;
  int channels_ = 0;
  std::vector<T> pixels_;
};

using ImageU8 = Image<std::uint8_t>;
using ImageF32 = Image<float>;

}  // namespace wastenet
