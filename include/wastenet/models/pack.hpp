// wastenet/models/pack.hpp - packed model files: batch norm folded into the convolutions, weights in
// the precision they will run in, so that loading does no folding (wastenet-pack).
//
//   wastenet::pack_model(wastenet::SafetensorsFile::open("sd.safetensors"), "sd.fp16.safetensors",
//                        wastenet::Precision::fp16);
//
// A packed file is still a safetensors file with torchvision's names: `X.weight` of each folded
// convolution holds the folded weight and `X.bias` its bias; the batch-norm tensors are gone; the
// metadata gains `packed: bn_folded` and `precision`. The same loader reads it. In FP16 the weights
// are binary16 and the biases FP32 (they are added to the FP32 accumulator). Loading a packed file
// gives bit-identical outputs to loading the original in the same precision.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "wastenet/half.hpp"
#include "wastenet/io/safetensors.hpp"
#include "wastenet/models/model.hpp"
#include "wastenet/models/weights.hpp"
#include "wastenet/precision.hpp"

namespace wastenet {

/// What pack_model wrote.
struct PackResult {
  std::size_t tensors = 0;
  std::size_t bytes = 0;  // size of the written file
};

/// Packs `file` (a torchvision state_dict, or an already packed file) for `precision` into `output`.
/// The model is first loaded as load_model() would, so everything a load checks is checked.
inline PackResult pack_model(const SafetensorsFile& file, const std::string& output, Precision precision,
                             const LoadOptions& options = {}) {
  const Model checked = load_model(file, options);
  std::vector<PackedTensor> tensors;
  {
    WeightReader reader(file, checked.info.arch);
    reader.record_into(&tensors);
    build_network(checked.info.arch, reader);
    reader.expect_all_used();
  }
  std::vector<TensorBlob> blobs;
  blobs.reserve(tensors.size());
  for (const PackedTensor& t : tensors) {
    const bool bias = t.name.size() >= 5 && t.name.compare(t.name.size() - 5, 5, ".bias") == 0;
    TensorBlob b;
    b.name = t.name;
    b.shape = t.shape;
    if (precision == Precision::fp16 && !bias) {
      b.dtype = DType::f16;
      b.bytes.resize(2 * t.values.size());
      for (std::size_t i = 0; i < t.values.size(); ++i) {
        const std::uint16_t h = float_to_half_bits(t.values[i]);
        b.bytes[2 * i] = static_cast<unsigned char>(h & 0xFF);
        b.bytes[2 * i + 1] = static_cast<unsigned char>(h >> 8);
      }
    } else {
      b.dtype = DType::f32;
      b.bytes.resize(4 * t.values.size());
      for (std::size_t i = 0; i < t.values.size(); ++i) {
        std::uint32_t u;
        std::memcpy(&u, &t.values[i], 4);
        for (int k = 0; k < 4; ++k) b.bytes[4 * i + static_cast<std::size_t>(k)] = static_cast<unsigned char>(u >> (8 * k));
      }
    }
    blobs.push_back(std::move(b));
  }
  std::map<std::string, std::string> metadata = file.metadata();
  metadata["arch"] = checked.info.arch;
  metadata["packed"] = packed_bn_folded;
  metadata["precision"] = precision_name(precision);
  write_safetensors(output, blobs, metadata);
  PackResult r;
  r.tensors = blobs.size();
  std::ifstream written(output, std::ios::binary | std::ios::ate);
  if (!written) throw FileError(output + ": cannot reopen the packed file");
  r.bytes = static_cast<std::size_t>(written.tellg());
  return r;
}

}  // namespace wastenet
