// libFuzzer target: the image decoder path (stb, behind the library's size and format checks).
#include <cstddef>
#include <cstdint>

#include "wastenet/io/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)wastenet::decode_image(data, size, "fuzz");
  } catch (const wastenet::Error&) {
  }
  return 0;
}
