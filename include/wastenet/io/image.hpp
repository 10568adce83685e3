// wastenet/io/image.hpp - decoding JPEG, PNG and BMP files (through Debian's stb) to RGB8, and
// writing PNG.
//
//   wastenet::ImageU8 img = wastenet::read_image("bottle.jpg");  // throws ImageError / FileError
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <stb_image.h>
#include <stb_image_write.h>

#include "wastenet/error.hpp"
#include "wastenet/image.hpp"

namespace wastenet {

/// Images above this many pixels are refused before decoding (a 64-megapixel camera frame fits).
inline constexpr std::size_t max_image_pixels = std::size_t{64} << 20;

/// Decodes an encoded image held in memory to RGB; `name` is used in error messages.
inline ImageU8 decode_image(const unsigned char* bytes, std::size_t size, const std::string& name) {
  if (size == 0) throw ImageError(name + ": empty file, not an image");
  if (size > static_cast<std::size_t>(INT32_MAX)) throw ImageError(name + ": file too large to be an image");
  int w = 0, h = 0, c = 0;
  const int len = static_cast<int>(size);
  if (!stbi_info_from_memory(bytes, len, &w, &h, &c)) {
    throw ImageError(name + ": not a readable JPEG, PNG or BMP image (" + stbi_failure_reason() + ")");
  }
  if (w <= 0 || h <= 0 || static_cast<std::size_t>(w) * static_cast<std::size_t>(h) > max_image_pixels) {
    throw ImageError(name + ": image is " + std::to_string(w) + "x" + std::to_string(h) + ", above the limit of " +
                     std::to_string(max_image_pixels) + " pixels");
  }
  std::unique_ptr<unsigned char, void (*)(void*)> data(stbi_load_from_memory(bytes, len, &w, &h, &c, 3), stbi_image_free);
  if (!data) throw ImageError(name + ": cannot decode image (" + stbi_failure_reason() + ")");
  ImageU8 img(w, h, 3);
  std::memcpy(img.data(), data.get(), img.size());
  return img;
}

/// Reads and decodes an image file to RGB.
inline ImageU8 read_image(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path + ": cannot open file");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return decode_image(bytes.data(), bytes.size(), path);
}

/// Writes an 8-bit image (1, 3 or 4 channels) as PNG.
inline void write_png(const std::string& path, const ImageU8& img) {
  if (img.empty()) throw ArgumentError(path + ": cannot write an empty image");
  if (!stbi_write_png(path.c_str(), img.width(), img.height(), img.channels(), img.data(),
                      static_cast<int>(img.row_stride()))) {
    throw FileError(path + ": cannot write PNG");
  }
}

}  // namespace wastenet
