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
#include <fstream>
#include <map>
#include <string>
#include <vector>

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
/// The tensors are collected while the model is loaded as load_model() would, so everything a load
/// checks is checked.
inline PackResult pack_model(const SafetensorsFile& file, const std::string& output, Precision precision,
                             const LoadOptions& options = {}) {
  std::vector<PackedTensor> tensors;
  LoadOptions recording = options;
  recording.record = &tensors;
  const Model checked = load_model(file, recording);
  std::vector<TensorBlob> blobs;
  blobs.reserve(tensors.size());
  for (PackedTensor& t : tensors) {
    // Biases stay FP32: they are added to the FP32 accumulator.
    const bool bias = t.name.size() >= 5 && t.name.compare(t.name.size() - 5, 5, ".bias") == 0;
    const DType dtype = precision == Precision::fp16 && !bias ? DType::f16 : DType::f32;
    blobs.push_back(make_tensor_blob(std::move(t.name), std::move(t.shape), t.values, dtype));
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
