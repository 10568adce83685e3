// wastenet/io/safetensors.hpp - a bounds-checked reader (and writer) of the safetensors format.
//
// Format: 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data section that
// follows), plus an optional "__metadata__" object of strings. Every bound is checked before
// anything is allocated from it; errors name the file, the tensor and the bound.
//
//   auto file = wastenet::SafetensorsFile::open("model.safetensors");
//   const auto& w = file.tensor("features.0.0.weight");   // throws ModelError if absent
//   std::vector<float> values = file.to_float(w);          // F32, F16, BF16 or F64 upcast
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "wastenet/error.hpp"
#include "wastenet/half.hpp"

namespace wastenet {

/// Element types of the safetensors format that wastenet reads.
enum class DType { f64, f32, f16, bf16, i64, i32, i16, i8, u8, boolean };

inline const char* dtype_name(DType t) noexcept {
  switch (t) {
    case DType::f64: return "F64";
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::i64: return "I64";
    case DType::i32: return "I32";
    case DType::i16: return "I16";
    case DType::i8: return "I8";
    case DType::u8: return "U8";
    case DType::boolean: return "BOOL";
  }
  return "?";
}

inline std::size_t dtype_size(DType t) noexcept {
  switch (t) {
    case DType::f64: case DType::i64: return 8;
    case DType::f32: case DType::i32: return 4;
    case DType::f16: case DType::bf16: case DType::i16: return 2;
    default: return 1;
  }
}

inline bool is_floating(DType t) noexcept {
  return t == DType::f64 || t == DType::f32 || t == DType::f16 || t == DType::bf16;
}

/// One tensor of a safetensors file: a view into the file's bytes.
struct TensorRecord {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::size_t> shape;
  std::size_t count = 0;        // number of elements
  std::size_t offset = 0;       // into the data section
  std::size_t bytes = 0;
  const unsigned char* data = nullptr;  // null when the file is streamed: use to_float()

  std::string shape_string() const {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
  }
};

/// Limits that protect a device from hostile files.
struct SafetensorsLimits {
  std::size_t max_header_bytes = 64u << 20;   // 64 MiB of JSON is far beyond any real model
  std::size_t max_file_bytes = std::size_t{4} << 30;
  std::size_t max_tensors = 1u << 20;
  std::size_t max_rank = 8;
};

/// A parsed safetensors file: its header, and its tensors either read from disk on demand (open) or
/// as views into bytes held in memory (from_bytes).
class SafetensorsFile {
 public:
  /// Validates `path` and reads its header. Tensor data stays on disk and is read one tensor at a
  /// time by to_float(), so loading a model never holds the whole file in memory beside the packed
  /// weights. Throws FileError (cannot read) or FormatError (malformed).
  static SafetensorsFile open(const std::string& path, const SafetensorsLimits& limits = {}) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FileError(path + ": cannot open file");
    in.seekg(0, std::ios::end);
    const std::streamoff end = in.tellg();
    if (end < 0) throw FileError(path + ": cannot determine file size");
    const auto size = static_cast<std::size_t>(end);
    if (size > limits.max_file_bytes) {
      throw FormatError(path + ": file is " + std::to_string(size) + " bytes, above the limit of " +
                        std::to_string(limits.max_file_bytes));
    }
    in.seekg(0, std::ios::beg);
    // The 8-byte length, then the header it announces (checked against the limits before reading).
    std::vector<unsigned char> head(std::min<std::size_t>(size, 8));
    if (!head.empty() && !in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()))) {
      throw FileError(path + ": read error");
    }
    if (size >= 8) {
      std::uint64_t n = 0;
      for (int i = 7; i >= 0; --i) n = (n << 8) | head[static_cast<std::size_t>(i)];
      if (n <= size - 8 && n <= limits.max_header_bytes) {
        head.resize(8 + static_cast<std::size_t>(n));
        if (n && !in.read(reinterpret_cast<char*>(head.data() + 8), static_cast<std::streamsize>(n))) {
          throw FileError(path + ": read error");
        }
      }
    }
    SafetensorsFile f;
    f.path_ = path;
    f.bytes_ = std::move(head);
    f.file_size_ = size;
    f.streamed_ = true;
    f.parse(limits);
    return f;
  }

  /// Parses bytes already in memory; `name` is used in error messages.
  static SafetensorsFile from_bytes(std::vector<unsigned char> bytes, const std::string& name,
                                    const SafetensorsLimits& limits = {}) {
    SafetensorsFile f;
    f.path_ = name;
    f.bytes_ = std::move(bytes);
    f.file_size_ = f.bytes_.size();
    f.parse(limits);
    return f;
  }

  SafetensorsFile(SafetensorsFile&& other) noexcept { *this = std::move(other); }
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept {
    path_ = std::move(other.path_);
    bytes_ = std::move(other.bytes_);  // moving a vector keeps its buffer: views stay valid
    file_size_ = other.file_size_;
    data_begin_ = other.data_begin_;
    streamed_ = other.streamed_;
    tensors_ = std::move(other.tensors_);
    index_ = std::move(other.index_);
    metadata_ = std::move(other.metadata_);
    return *this;
  }
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const noexcept { return path_; }
  std::size_t file_size() const noexcept { return file_size_; }
  /// True when tensor data is read from disk on demand (open()), false when held in memory.
  bool streamed() const noexcept { return streamed_; }
  const std::vector<TensorRecord>& tensors() const noexcept { return tensors_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

  /// The metadata value for `key`, or `fallback`.
  std::string meta(const std::string& key, const std::string& fallback = {}) const {
    auto it = metadata_.find(key);
    return it == metadata_.end() ? fallback : it->second;
  }

  const TensorRecord* find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }

  const TensorRecord& tensor(const std::string& name) const {
    const TensorRecord* t = find(name);
    if (!t) throw ModelError(path_ + ": missing tensor '" + name + "'");
    return *t;
  }

  /// A tensor's raw little-endian bytes, whatever its dtype.
  std::vector<unsigned char> raw_bytes(const TensorRecord& t) const {
    if (t.data || !t.bytes) return std::vector<unsigned char>(t.data, t.data + t.bytes);
    return read_range(data_begin_ + t.offset, t.bytes);
  }

  /// The values of a floating-point tensor as float32.
  std::vector<float> to_float(const TensorRecord& t) const {
    std::vector<float> out(t.count);
    std::vector<unsigned char> staged;  // this tensor's bytes when they are still on disk
    const unsigned char* p = t.data;
    if (!p && t.bytes) {
      staged = read_range(data_begin_ + t.offset, t.bytes);
      p = staged.data();
    }
    switch (t.dtype) {
      case DType::f32:
        if (t.count) std::memcpy(out.data(), p, t.count * 4);
        break;
      case DType::f16:
        for (std::size_t i = 0; i < t.count; ++i) out[i] = half_bits_to_float(load_u16(p + 2 * i));
        break;
      case DType::bf16:
        for (std::size_t i = 0; i < t.count; ++i) out[i] = bf16_bits_to_float(load_u16(p + 2 * i));
        break;
      case DType::f64:
        for (std::size_t i = 0; i < t.count; ++i) {
          double d;
          std::memcpy(&d, p + 8 * i, 8);
          out[i] = static_cast<float>(d);
        }
        break;
      default:
        throw FormatError(path_ + ": tensor '" + t.name + "' has dtype " + dtype_name(t.dtype) +
                          " where a floating-point tensor is expected");
    }
    return out;
  }

 private:
  SafetensorsFile() = default;

  // Reads bytes [offset, offset + count) of the file; the file must still be what open() checked.
  std::vector<unsigned char> read_range(std::size_t offset, std::size_t count) const {
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw FileError(path_ + ": cannot reopen file to read tensor data");
    in.seekg(0, std::ios::end);
    const std::streamoff end = in.tellg();
    if (end < 0 || static_cast<std::size_t>(end) != file_size_) {
      throw FileError(path_ + ": file changed size while it was being loaded");
    }
    std::vector<unsigned char> out(count);
    in.seekg(static_cast<std::streamoff>(offset), std::ios::beg);
    if (!in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(count))) {
      throw FileError(path_ + ": read error");
    }
    return out;
  }

  static std::uint16_t load_u16(const unsigned char* p) noexcept {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
  }

  [[noreturn]] void fail(const std::string& what) const { throw FormatError(path_ + ": " + what); }

  static bool parse_dtype(const std::string& s, DType& out) {
    static const std::pair<const char*, DType> table[] = {
        {"F64", DType::f64}, {"F32", DType::f32}, {"F16", DType::f16}, {"BF16", DType::bf16},
        {"I64", DType::i64}, {"I32", DType::i32}, {"I16", DType::i16}, {"I8", DType::i8},
        {"U8", DType::u8},   {"BOOL", DType::boolean}};
    for (const auto& [name, t] : table) {
      if (s == name) {
        out = t;
        return true;
      }
    }
    return false;
  }

  static bool json_size(const nlohmann::json& j, std::size_t& out) {
    if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0)) return false;
    const std::uint64_t v = j.get<std::uint64_t>();
    if (v > std::numeric_limits<std::size_t>::max()) return false;
    out = static_cast<std::size_t>(v);
    return true;
  }

  void parse(const SafetensorsLimits& limits) {
    if (file_size_ < 8) {
      fail("not a safetensors file: " + std::to_string(file_size_) + " bytes, fewer than the 8-byte header length");
    }
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes_[static_cast<std::size_t>(i)];
    if (n > file_size_ - 8) {
      fail("header length " + std::to_string(n) + " runs past the end of the file (" +
           std::to_string(file_size_) + " bytes)");
    }
    if (n > limits.max_header_bytes) {
      fail("header length " + std::to_string(n) + " is above the limit of " + std::to_string(limits.max_header_bytes));
    }
    if (n < 2 || bytes_[8] != '{') fail("not a safetensors file: the header does not start with a JSON object");
    const auto* hb = reinterpret_cast<const char*>(bytes_.data() + 8);
    nlohmann::json header = nlohmann::json::parse(hb, hb + n, nullptr, /*allow_exceptions=*/false);
    if (header.is_discarded()) fail("header is not valid JSON");
    if (!header.is_object()) fail("header is not a JSON object");

    const std::size_t data_begin = 8 + static_cast<std::size_t>(n);
    const std::size_t data_size = file_size_ - data_begin;
    data_begin_ = data_begin;
    if (header.size() > limits.max_tensors + 1) {
      fail("header lists " + std::to_string(header.size()) + " entries, above the limit of " +
           std::to_string(limits.max_tensors));
    }
    tensors_.reserve(header.size());
    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& name = it.key();
      const nlohmann::json& v = it.value();
      if (name == "__metadata__") {
        if (!v.is_object()) fail("__metadata__ is not a JSON object");
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (!m.value().is_string()) fail("__metadata__ value of '" + m.key() + "' is not a string");
          metadata_[m.key()] = m.value().get<std::string>();
        }
        continue;
      }
      const std::string where = "tensor '" + name + "'";
      if (!v.is_object()) fail(where + ": entry is not a JSON object");
      auto dt = v.find("dtype");
      auto sh = v.find("shape");
      auto off = v.find("data_offsets");
      if (dt == v.end() || !dt->is_string()) fail(where + ": missing or non-string \"dtype\"");
      if (sh == v.end() || !sh->is_array()) fail(where + ": missing or non-array \"shape\"");
      if (off == v.end() || !off->is_array() || off->size() != 2) {
        fail(where + ": \"data_offsets\" must be an array [begin, end]");
      }
      TensorRecord t;
      t.name = name;
      if (!parse_dtype(dt->get<std::string>(), t.dtype)) {
        fail(where + ": dtype '" + dt->get<std::string>() + "' is not one wastenet reads "
             "(F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
      }
      if (sh->size() > limits.max_rank) fail(where + ": rank " + std::to_string(sh->size()) + " is above the limit");
      std::size_t count = 1;
      for (const auto& d : *sh) {
        std::size_t dim = 0;
        if (!json_size(d, dim)) fail(where + ": shape has an entry that is not a non-negative integer");
        if (dim != 0 && count > std::numeric_limits<std::size_t>::max() / dim) {
          fail(where + ": shape's element count overflows");
        }
        count *= dim;
        t.shape.push_back(dim);
      }
      std::size_t begin = 0, end = 0;
      if (!json_size((*off)[0], begin) || !json_size((*off)[1], end)) {
        fail(where + ": data_offsets are not non-negative integers");
      }
      if (begin > end) fail(where + ": data_offsets begin " + std::to_string(begin) + " > end " + std::to_string(end));
      if (end > data_size) {
        fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
             ") lie outside the data section (" + std::to_string(data_size) + " bytes)");
      }
      const std::size_t item = dtype_size(t.dtype);
      if (count > std::numeric_limits<std::size_t>::max() / item || count * item != end - begin) {
        fail(where + ": shape " + t.shape_string() + " of " + dtype_name(t.dtype) + " needs " +
             (count > std::numeric_limits<std::size_t>::max() / item ? std::string("more than addressable")
                                                                      : std::to_string(count * item)) +
             " bytes but data_offsets span " + std::to_string(end - begin));
      }
      t.count = count;
      t.offset = begin;
      t.bytes = end - begin;
      t.data = streamed_ ? nullptr : bytes_.data() + data_begin + begin;
      tensors_.push_back(std::move(t));
    }
    // Byte ranges must not overlap (empty tensors overlap nothing).
    std::vector<const TensorRecord*> order;
    order.reserve(tensors_.size());
    for (const auto& t : tensors_) {
      if (t.bytes) order.push_back(&t);
    }
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < order.size(); ++i) {
      if (order[i]->offset < order[i - 1]->offset + order[i - 1]->bytes) {
        fail("tensors '" + order[i - 1]->name + "' and '" + order[i]->name + "' have overlapping byte ranges");
      }
    }
    for (std::size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
  }

  std::string path_;
  std::vector<unsigned char> bytes_;  // the whole file (from_bytes) or its length and header (open)
  std::size_t file_size_ = 0;
  std::size_t data_begin_ = 0;
  bool streamed_ = false;
  std::vector<TensorRecord> tensors_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

/// A tensor to write: raw little-endian bytes with dtype and shape.
struct TensorBlob {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::size_t> shape;
  std::vector<unsigned char> bytes;
};

/// A blob holding `values` as little-endian `dtype`: f32 exactly, or f16 rounded to nearest even.
/// The values must fill `shape`.
inline TensorBlob make_tensor_blob(std::string name, std::vector<std::size_t> shape, const std::vector<float>& values,
                                   DType dtype = DType::f32) {
  std::size_t count = 1;
  for (std::size_t d : shape) count *= d;
  if (count != values.size()) {
    throw ArgumentError("tensor '" + name + "': " + std::to_string(values.size()) + " values do not fill its shape");
  }
  if (dtype != DType::f32 && dtype != DType::f16) {
    throw ArgumentError("tensor '" + name + "': floats are stored as F32 or F16, not " + dtype_name(dtype));
  }
  TensorBlob b{std::move(name), dtype, std::move(shape), {}};
  const std::size_t item = dtype == DType::f16 ? 2 : 4;
  b.bytes.resize(item * values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t u;
    if (dtype == DType::f16) {
      u = float_to_half_bits(values[i]);
    } else {
      std::memcpy(&u, &values[i], 4);
    }
    for (std::size_t k = 0; k < item; ++k) b.bytes[item * i + k] = static_cast<unsigned char>(u >> (8 * k));
  }
  return b;
}

/// Every tensor of `file`, as stored (dtype and bytes unchanged), in the file's order: the start of a
/// rewritten copy.
inline std::vector<TensorBlob> tensor_blobs(const SafetensorsFile& file) {
  std::vector<TensorBlob> blobs;
  blobs.reserve(file.tensors().size());
  for (const auto& t : file.tensors()) blobs.push_back({t.name, t.dtype, t.shape, file.raw_bytes(t)});
  return blobs;
}

/// Writes tensors (in the given order) and string metadata as a safetensors file.
inline void write_safetensors(const std::string& path, const std::vector<TensorBlob>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw FileError(path + ": cannot open for writing");
  std::uint64_t n = text.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& t : tensors) out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  if (!out) throw FileError(path + ": write error");
}

}  // namespace wastenet
