// wastenet-pack: writes a model with batch norm folded into its convolutions and its weights in the
// chosen precision, so that loading it does no folding. The output is a safetensors file the same
// loader reads; the input is never modified.
//
//   wastenet-pack [--arch NAME] [--precision fp32|fp16] INPUT.safetensors OUTPUT.safetensors
#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/core.h>

#include "cli.hpp"
#include "wastenet/models/pack.hpp"

namespace {

const char* const usage =
    "usage: wastenet-pack [--arch NAME] [--precision fp32|fp16] INPUT.safetensors OUTPUT.safetensors\n"
    "  --arch NAME      architecture, when the input's metadata does not name it\n"
    "  --precision P    fp32 or fp16 (default): the weights' type in the output; biases stay fp32\n";

int run(int argc, char** argv) {
  const auto args = wastenet::cli::parse(argc, argv, {"arch", "precision"}, {"help"});
  if (args.has("help")) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (args.positional.size() != 2) throw wastenet::ArgumentError("need INPUT and OUTPUT (see --help)");
  const std::string& input = args.positional[0];
  const std::string& output = args.positional[1];
  const auto precision = wastenet::parse_precision(args.get("precision", "fp16"));
  std::error_code ec;
  if (std::filesystem::equivalent(input, output, ec)) {
    throw wastenet::ArgumentError(output + ": is the input file; wastenet-pack never overwrites its input");
  }
  if (std::filesystem::is_directory(output, ec)) throw wastenet::ArgumentError(output + ": is a folder; name the output file");
  const auto folder = std::filesystem::path(output).parent_path();
  if (!folder.empty() && !std::filesystem::is_directory(folder, ec)) {
    throw wastenet::FileError(output + ": the folder " + folder.string() + " does not exist");
  }
  // Written beside the output, then renamed: a failed pack leaves no half-written file behind.
  const std::string partial = output + ".partial";
  wastenet::PackResult r;
  try {
    wastenet::LoadOptions options;
    options.arch = args.get("arch");
    r = wastenet::pack_model(wastenet::SafetensorsFile::open(input), partial, precision, options);
  } catch (...) {
    std::filesystem::remove(partial, ec);
    throw;
  }
  std::filesystem::rename(partial, output, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    throw wastenet::FileError(output + ": cannot rename " + partial + " to it: " + ec.message());
  }
  const auto in_bytes = std::filesystem::file_size(input);
  fmt::print("{}: {} tensors, {} bytes ({:.2f} MiB), {} weights, batch norm folded; input {} bytes ({:.2f} MiB)\n", output,
             r.tensors, r.bytes, static_cast<double>(r.bytes) / 1048576.0, wastenet::precision_name(precision), in_bytes,
             static_cast<double>(in_bytes) / 1048576.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return wastenet::cli::run_tool("wastenet-pack", argc, argv, run); }
