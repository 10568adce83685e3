// wastenet/io/image.hpp - decoding JPEG, PNG and BMP files (through Debian's stb) to RGB8, and
// writing PNG. PNG pixel data is first inflated with zlib to bound what it can make stb allocate.
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
#include <zlib.h>

#include "wastenet/error.hpp"
#include "wastenet/image.hpp"

namespace wastenet {

/// Images above this many pixels are refused before decoding (a 64-megapixel camera frame fits).
inline constexpr std::size_t max_image_pixels = std::size_t{64} << 20;

namespace detail {

inline std::uint32_t read_be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// What a PNG can make stb allocate is checked before stb sees it (found by fuzzing: a 74-byte PNG
// made stb allocate 2 GiB). stb grows its buffer to each IDAT chunk's claimed length before reading
// it, so every chunk must fit in the file; and stb's inflater grows its output for as long as the
// zlib stream asks, so the IDAT stream is inflated here with zlib into a small scratch buffer, only
// counting bytes, and refused as soon as it inflates past what the header's size allows.
inline void check_png_inflated_size(const unsigned char* bytes, std::size_t size, const std::string& name) {
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size < 8 + 25 || std::memcmp(bytes, signature, 8) != 0) return;  // not PNG: stb decides
  if (std::memcmp(bytes + 12, "IHDR", 4) != 0) return;
  const std::uint64_t w = read_be32(bytes + 16), h = read_be32(bytes + 20);
  const int depth = bytes[24], colour = bytes[25], interlace = bytes[28];
  const int channels = colour == 0 ? 1 : colour == 2 ? 3 : colour == 3 ? 1 : colour == 4 ? 2 : colour == 6 ? 4 : 0;
  if (channels == 0 || depth == 0 || depth > 16 || w == 0 || h == 0 || w * h > max_image_pixels) return;  // stb refuses
  // One filter byte per row; Adam7 interlacing adds at most one per row and pass.
  const std::uint64_t row_bytes = (w * static_cast<std::uint64_t>(channels) * static_cast<std::uint64_t>(depth) + 7) / 8 + 1;
  const std::uint64_t allowed = h * row_bytes + (interlace ? 7 * (h + 7) + 7 * 8 : 0);
  // First the framing: every chunk up to IEND must fit in the file.
  for (std::size_t pos = 8; pos + 8 <= size;) {  // a chunk whose length and type can be read
    const std::uint32_t len = read_be32(bytes + pos);
    const unsigned char* type = bytes + pos + 4;
    if (size - pos < 12 || len > size - pos - 12) {
      // stb would first grow its buffer to the claimed length (up to 2 GiB), then find the file short.
      std::string t;
      for (int i = 0; i < 4; ++i) t += (type[i] >= 32 && type[i] < 127) ? static_cast<char>(type[i]) : '?';
      throw ImageError(name + ": PNG chunk '" + t + "' claims " + std::to_string(len) + " bytes but the file has " +
                       std::to_string(size - pos - 8) + " left after its type (with the CRC)");
    }
    if (std::memcmp(type, "IEND", 4) == 0) break;
    pos += 12 + static_cast<std::size_t>(len);
  }
  // Then the pixel data, inflated and counted.
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw ImageError(name + ": cannot start zlib");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
  unsigned char scratch[16384];
  bool ended = false;
  for (std::size_t pos = 8; !ended && pos + 12 <= size;) {
    const std::uint32_t len = read_be32(bytes + pos);
    const unsigned char* type = bytes + pos + 4;
    if (std::memcmp(type, "IDAT", 4) == 0) {
      z.next_in = const_cast<unsigned char*>(bytes + pos + 8);
      z.avail_in = len;
      while (z.avail_in > 0 && !ended) {
        z.next_out = scratch;
        z.avail_out = sizeof(scratch);
        const int rc = inflate(&z, Z_NO_FLUSH);
        if (z.total_out > allowed) {
          throw ImageError(name + ": PNG pixel data inflates to more than the " + std::to_string(allowed) +
                           " bytes its " + std::to_string(w) + "x" + std::to_string(h) + " header allows");
        }
        if (rc == Z_STREAM_END) {
          ended = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
          throw ImageError(name + ": PNG pixel data is corrupt (zlib: " + (z.msg ? z.msg : "error") + ")");
        } else if (rc == Z_BUF_ERROR && z.avail_out != 0) {
          break;  // needs the next IDAT chunk
        }
      }
    } else if (std::memcmp(type, "IEND", 4) == 0) {
      break;
    }
    pos += 12 + static_cast<std::size_t>(len);
  }
}

}  // namespace detail

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
  detail::check_png_inflated_size(bytes, size, name);
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
