// wastenet-classify: classify image files with a torchvision model stored as safetensors.
//
//   wastenet-classify [--model FILE] [--arch NAME] [--resize fit|crop] [--input-size S] [--threads N] [--precision fp32|fp16] [--topk K] [--tta MODE]
//                     [--json] [--logits-out FILE] [--truth] IMAGE...
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "classifier_args.hpp"
#include "cli.hpp"
#include "wastenet/classifier.hpp"
#include "wastenet/io/image.hpp"

#ifndef WASTENET_DEFAULT_MODEL
#define WASTENET_DEFAULT_MODEL "models/wastenet_trashnet_mobilenet_v2.safetensors"
#endif

namespace {

const char* const usage =
    "usage: wastenet-classify [--model FILE] [--arch NAME] [--resize fit|crop] [--input-size S] [--threads N] [--topk K]\n"
    "                         [--precision fp32|fp16] [--tta none|flips|flips+crops] [--json] [--logits-out FILE] [--truth] IMAGE...\n"
    "  --model FILE       safetensors weights (default: the bundled TrashNet model)\n"
    "  --arch NAME        architecture, when the file's metadata does not name it\n"
    "  --resize fit|crop  fit: whole image to the input size; crop: shorter side to size/0.875, center crop\n"
    "  --input-size S     input size in pixels instead of the model's (fewer for speed, e.g. 75%)\n"
    "  --threads N        threads for one forward pass (default: all cores)\n"
    "  --precision P      fp32 (default) or fp16: binary16 weights and activations, FP32 accumulation\n"
    "  --topk K           classes to print per image (default 5)\n"
    "  --tta MODE         test-time augmentation: average over flips (3 views) or flips and corner crops (7)\n"
    "  --json             print one JSON document\n"
    "  --logits-out FILE  write raw logits, float32 little-endian, images x classes\n"
    "  --truth            show the true class, taken from the file name (cardboard12.jpg -> cardboard)\n";

// The class a TrashNet-style file name implies: its letters before the first digit.
std::string truth_from_name(const std::string& path) {
  std::string name = path.substr(path.find_last_of("/\\") + 1);
  std::string out;
  for (char c : name) {
    if (c >= '0' && c <= '9') break;
    if (c == '.') break;
    out += c;
  }
  return out;
}

int run(int argc, char** argv) {
  const auto args = wastenet::cli::parse(argc, argv, {"model", "arch", "resize", "input-size", "threads", "topk", "logits-out", "tta", "precision"},
                                         {"json", "truth", "help"});
  if (args.has("help")) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (args.positional.empty()) throw wastenet::ArgumentError("no image given (see --help)");
  wastenet::ClassifierOptions opts = wastenet::cli::classifier_options(args);
  opts.arch = args.get("arch");
  opts.resize = args.get("resize");
  if (!opts.resize.empty()) wastenet::parse_resize_mode(opts.resize);  // reject bad values before loading
  const auto tta = wastenet::parse_test_time_augmentation(args.get("tta", "none"));
  const long topk = args.get_int("topk", 5, 1, 100000);
  const std::string model_path = args.get("model", WASTENET_DEFAULT_MODEL);

  const wastenet::Classifier clf(model_path, opts);
  const auto& info = clf.info();

  std::ofstream logits_out;
  if (args.has("logits-out")) {
    logits_out.open(args.get("logits-out"), std::ios::binary | std::ios::trunc);
    if (!logits_out) throw wastenet::FileError(args.get("logits-out") + ": cannot open for writing");
  }
  nlohmann::ordered_json doc;
  doc["model"] = model_path;
  doc["arch"] = info.arch;
  doc["input_size"] = info.input_size;
  doc["images"] = nlohmann::ordered_json::array();
  std::size_t correct = 0, labelled = 0;
  for (const auto& path : args.positional) {
    const auto pred = clf.classify(wastenet::read_image(path), tta);
    if (logits_out) {
      logits_out.write(reinterpret_cast<const char*>(pred.logits.data()),
                       static_cast<std::streamsize>(pred.logits.size() * sizeof(float)));
    }
    const auto top = pred.top(static_cast<std::size_t>(topk));
    const std::string truth = args.has("truth") ? truth_from_name(path) : std::string();
    if (!truth.empty()) {
      ++labelled;
      correct += info.class_name(pred.top1) == truth;
    }
    if (args.has("json")) {
      nlohmann::ordered_json img;
      img["file"] = path;
      if (!truth.empty()) img["truth"] = truth;
      img["top"] = nlohmann::ordered_json::array();
      for (auto c : top) img["top"].push_back({{"class", c}, {"name", info.class_name(c)}, {"probability", pred.probabilities[c]}});
      doc["images"].push_back(img);
    } else {
      fmt::print("{}", path);
      if (!truth.empty()) fmt::print("  (true: {}{})", truth, info.class_name(pred.top1) == truth ? "" : ", WRONG");
      fmt::print("\n");
      for (auto c : top) fmt::print("  {:>7.4f}  {}\n", pred.probabilities[c], info.class_name(c));
    }
  }
  if (logits_out && !logits_out.flush()) throw wastenet::FileError(args.get("logits-out") + ": write error");
  if (args.has("json")) {
    fmt::print("{}\n", doc.dump(2));
  } else if (labelled) {
    fmt::print("{} of {} correct\n", correct, labelled);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return wastenet::cli::run_tool("wastenet-classify", argc, argv, run); }
