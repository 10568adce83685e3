// wastenet/models/model.hpp - the architecture registry and the model loader.
//
//   wastenet::Model m = wastenet::load_model("trashnet.safetensors");   // arch from metadata
//   wastenet::Model m2 = wastenet::load_model("sd.safetensors", {"mobilenet_v3_small"});
//
// Optional `__metadata__` keys: arch, classes (comma-separated; count must match the classifier),
// input_size, mean, std (three comma-separated numbers each), resize (fit|crop).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "wastenet/error.hpp"
#include "wastenet/io/safetensors.hpp"
#include "wastenet/models/efficientnet.hpp"
#include "wastenet/models/mobilenet_v2.hpp"
#include "wastenet/models/mobilenet_v3.hpp"
#include "wastenet/models/weights.hpp"
#include "wastenet/network.hpp"

namespace wastenet {

/// The architectures wastenet builds, by torchvision's function names.
inline const std::vector<std::string>& architectures() {
  static const std::vector<std::string> names = {
      "mobilenet_v2",    "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0",
      "efficientnet_b1", "efficientnet_b2",    "efficientnet_b3",    "efficientnet_b4",
      "efficientnet_b5", "efficientnet_b6",    "efficientnet_b7"};
  return names;
}

/// torchvision's default input resolution for `arch`.
inline std::size_t default_input_size(const std::string& arch) {
  if (arch.rfind("efficientnet_b", 0) == 0 && arch.size() == 15) return efficientnet_scaling(arch[14] - '0').resolution;
  return 224;
}

/// The smallest input size a model file or ClassifierOptions may ask for.
inline constexpr std::size_t min_input_size = 32;

/// The largest input size a model file of `arch` may ask for: twice torchvision's default.
inline std::size_t max_input_size(const std::string& arch) { return 2 * default_input_size(arch); }

/// A model file can make the library allocate at most this many times its size: while loading, and
/// while the loaded model classifies one image at the largest input size the file may ask for
/// (measured for every architecture, in float32 and float16, by tests/allocation_limit_test.cpp).
inline constexpr double max_allocation_factor = 12.0;

/// What a model file says about how to feed it, plus what the architecture implies.
struct ModelInfo {
  std::string path;
  std::string arch;
  std::size_t num_classes = 0;
  std::vector<std::string> classes;  // empty unless the metadata names them
  std::size_t input_size = 224;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // ImageNet's
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  std::string resize = "fit";
  std::map<std::string, std::string> metadata;
  std::size_t file_bytes = 0;

  /// The name of class `i`, or its index as text.
  std::string class_name(std::size_t i) const { return i < classes.size() ? classes[i] : std::to_string(i); }
};

struct Model {
  Network network;
  ModelInfo info;
};

struct LoadOptions {
  std::string arch;                      // required when the file has no "arch" metadata
  Precision precision = Precision::fp32;  // fp16: binary16 weights and activations, FP32 accumulation
  // When set, receives every tensor the network was built from, batch norm folded in: what
  // pack_model writes. Loading both checks the file and collects them, in one pass.
  std::vector<PackedTensor>* record = nullptr;
};

namespace detail {

inline std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t b = 0;
  for (;;) {
    const std::size_t e = s.find(',', b);
    std::string item = s.substr(b, e == std::string::npos ? std::string::npos : e - b);
    const auto l = item.find_first_not_of(" \t"), r = item.find_last_not_of(" \t");
    out.push_back(l == std::string::npos ? std::string() : item.substr(l, r - l + 1));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return out;
}

inline std::array<float, 3> parse_triplet(const std::string& path, const std::string& key, const std::string& text) {
  const auto parts = split_commas(text);
  std::array<float, 3> v{};
  if (parts.size() != 3) throw ModelError(path + ": metadata '" + key + "' must be three comma-separated numbers, got '" + text + "'");
  for (std::size_t i = 0; i < 3; ++i) {
    std::size_t used = 0;
    try {
      v[i] = std::stof(parts[i], &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != parts[i].size() || !std::isfinite(v[i])) {
      throw ModelError(path + ": metadata '" + key + "' has '" + parts[i] + "', which is not a number");
    }
  }
  return v;
}

}  // namespace detail

/// Builds the network for `arch` from a parsed state_dict.
inline Network build_network(const std::string& arch, WeightReader& w) {
  if (arch == "mobilenet_v2") return build_mobilenet_v2(w);
  if (arch == "mobilenet_v3_small") return build_mobilenet_v3(w, false);
  if (arch == "mobilenet_v3_large") return build_mobilenet_v3(w, true);
  if (arch.rfind("efficientnet_b", 0) == 0 && arch.size() == 15 && arch[14] >= '0' && arch[14] <= '7') {
    return build_efficientnet(w, arch[14] - '0');
  }
  std::string known;
  for (const auto& a : architectures()) known += (known.empty() ? "" : ", ") + a;
  throw ModelError(w.file().path() + ": unknown architecture '" + arch + "' (known: " + known + ")");
}

/// Loads a torchvision state_dict from a safetensors file and builds its network.
inline Model load_model(const SafetensorsFile& file, const LoadOptions& options = {}) {
  Model m;
  ModelInfo& info = m.info;
  info.path = file.path();
  info.file_bytes = file.file_size();
  info.metadata = file.metadata();
  const std::string meta_arch = file.meta("arch");
  if (!options.arch.empty() && !meta_arch.empty() && options.arch != meta_arch) {
    throw ModelError(file.path() + ": the file's metadata says arch '" + meta_arch + "' but '" + options.arch + "' was requested");
  }
  info.arch = options.arch.empty() ? meta_arch : options.arch;
  if (info.arch.empty()) {
    throw ModelError(file.path() + ": no 'arch' in the file's metadata; name the architecture (--arch)");
  }
  info.input_size = default_input_size(info.arch);
  WeightReader reader(file, info.arch, options.precision);
  reader.record_into(options.record);
  m.network = build_network(info.arch, reader);
  m.network.set_precision(options.precision);
  reader.expect_all_used();
  const auto& last = *m.network.steps().back().layer;
  info.num_classes = dynamic_cast<const Linear&>(last).out_features();

  if (auto it = info.metadata.find("classes"); it != info.metadata.end()) {
    info.classes = detail::split_commas(it->second);
    if (info.classes.size() != info.num_classes) {
      throw ModelError(file.path() + ": metadata 'classes' names " + std::to_string(info.classes.size()) +
                       " classes but the classifier has " + std::to_string(info.num_classes) + " outputs");
    }
  }
  if (auto it = info.metadata.find("input_size"); it != info.metadata.end()) {
    const std::string& t = it->second;
    // The workspace grows with the square of the input size, so a file may not ask for more than
    // max_input_size(arch): the allocation a model can cause stays proportional to its weights.
    const std::size_t most = max_input_size(info.arch);
    if (t.empty() || t.size() > 5 || t.find_first_not_of("0123456789") != std::string::npos || std::stoul(t) < min_input_size ||
        std::stoul(t) > most) {
      throw ModelError(file.path() + ": metadata 'input_size' must be an integer from " + std::to_string(min_input_size) +
                       " to " + std::to_string(most) + " (twice " + info.arch + "'s default), got '" + t + "'");
    }
    info.input_size = std::stoul(t);
  }
  if (auto it = info.metadata.find("mean"); it != info.metadata.end()) info.mean = detail::parse_triplet(file.path(), "mean", it->second);
  if (auto it = info.metadata.find("std"); it != info.metadata.end()) {
    info.std = detail::parse_triplet(file.path(), "std", it->second);
    for (float s : info.std) {
      if (!(s > 0.f)) throw ModelError(file.path() + ": metadata 'std' must be positive");
    }
  }
  if (auto it = info.metadata.find("resize"); it != info.metadata.end()) {
    if (it->second != "fit" && it->second != "crop") {
      throw ModelError(file.path() + ": metadata 'resize' must be 'fit' or 'crop', got '" + it->second + "'");
    }
    info.resize = it->second;
  }
  return m;
}

inline Model load_model(const std::string& path, const LoadOptions& options = {}) {
  return load_model(SafetensorsFile::open(path), options);
}

}  // namespace wastenet
