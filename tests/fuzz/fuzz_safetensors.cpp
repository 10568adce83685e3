// libFuzzer target: the safetensors parser (header JSON, tensor table, offsets) and conversion of
// every tensor it accepts to float. Any input must give a SafetensorsFile or a wastenet::Error.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "wastenet/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    wastenet::SafetensorsLimits limits;
    limits.max_file_bytes = 1 << 20;  // keep each execution small
    const auto file = wastenet::SafetensorsFile::from_bytes(std::vector<unsigned char>(data, data + size), "fuzz", limits);
    for (const auto& t : file.tensors()) {
      if (wastenet::is_floating(t.dtype)) (void)file.to_float(t);
    }
  } catch (const wastenet::Error&) {
  }
  return 0;
}
