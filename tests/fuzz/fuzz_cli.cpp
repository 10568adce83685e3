// libFuzzer target: the command-line parser the tools share. The input is split at NUL bytes into
// arguments; parsing and every typed getter must either succeed or throw wastenet::ArgumentError.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../../examples/cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args{"wastenet-fuzz"};
  std::string cur;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(data[i]);
    }
  }
  args.push_back(cur);
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    const auto parsed = wastenet::cli::parse(static_cast<int>(argv.size()), argv.data(), {"model", "threads", "topk"},
                                             {"json", "help"});
    (void)parsed.get_int("threads", 1, 1, 1024);
    (void)parsed.get_int("topk", 5, 1, 1000);
    (void)parsed.get("model", "default");
  } catch (const wastenet::Error&) {
  }
  return 0;
}
