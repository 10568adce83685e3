// libFuzzer target: the model loader on top of the parser (keys and shapes checked against the
// architecture, metadata parsed). The input is a safetensors *header* (JSON); the harness appends
// zero bytes up to the largest end offset it declares (at most 32 MiB), so that the fuzzer explores
// keys, dtypes, shapes and metadata without carrying megabytes of weights in every input. Without
// an "arch" in the metadata the architecture is mobilenet_v3_small.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wastenet/models/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string header(reinterpret_cast<const char*>(data), size);
  const auto doc = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
  std::uint64_t data_bytes = 0;
  if (doc.is_object()) {
    for (const auto& [name, entry] : doc.items()) {
      if (!entry.is_object() || !entry.contains("data_offsets")) continue;
      const auto& off = entry["data_offsets"];
      if (off.is_array() && off.size() == 2 && off[1].is_number_unsigned()) {
        data_bytes = std::max<std::uint64_t>(data_bytes, off[1].get<std::uint64_t>());
      }
    }
  }
  if (data_bytes > (std::uint64_t{32} << 20)) return 0;
  std::vector<unsigned char> bytes(8 + size + data_bytes, 0);
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<unsigned char>(std::uint64_t{size} >> (8 * i));
  std::copy(data, data + size, bytes.begin() + 8);
  try {
    const auto file = wastenet::SafetensorsFile::from_bytes(std::move(bytes), "fuzz");
    wastenet::LoadOptions opts;
    if (file.meta("arch").empty()) opts.arch = "mobilenet_v3_small";
    (void)wastenet::load_model(file, opts);
  } catch (const wastenet::Error&) {
  }
  return 0;
}
