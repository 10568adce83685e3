// wastenet-eval: accuracy of a model on a dataset split, computed by the library.
//
//   wastenet-eval [--model FILE] [--threads N] [--precision fp32|fp16] [--tta none|flips|flips+crops] [--json] [--input-size S]
//                 [--predictions-out FILE]
//                 --dataset DIR --split FILE
//
// The split file is TrashNet's format: one "filename label" per line; the image lives at
// DIR/images/<class>/<filename>, <class> being the file name without its digits, which is also the
// true class (the numeric label is checked against TrashNet's own order when the model has the six
// TrashNet classes).
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "classifier_args.hpp"
#include "cli.hpp"
#include "dataset.hpp"
#include "wastenet/classifier.hpp"
#include "wastenet/io/image.hpp"

#ifndef WASTENET_DEFAULT_MODEL
#define WASTENET_DEFAULT_MODEL "models/wastenet_trashnet_mobilenet_v2.safetensors"
#endif

namespace {

using wastenet::cli::progress;
using wastenet::cli::read_split;

const char* const usage =
    "usage: wastenet-eval [--model FILE] [--threads N] [--precision fp32|fp16] [--tta none|flips|flips+crops] [--json]\n"
    "                     [--input-size S] [--predictions-out FILE]\n"
    "                     --dataset DIR --split FILE\n";

int run(int argc, char** argv) {
  const auto args = wastenet::cli::parse(argc, argv, {"model", "threads", "dataset", "split", "predictions-out", "tta", "precision", "input-size"},
                                         {"json", "help"});
  if (args.has("help")) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (!args.has("dataset") || !args.has("split")) throw wastenet::ArgumentError("--dataset and --split are required (see --help)");
  if (!args.positional.empty()) throw wastenet::ArgumentError("unexpected argument '" + args.positional.front() + "'");
  const wastenet::ClassifierOptions opts = wastenet::cli::classifier_options(args);
  const std::string model_path = args.get("model", WASTENET_DEFAULT_MODEL);
  const auto tta = wastenet::parse_test_time_augmentation(args.get("tta", "none"));
  const auto samples = read_split(args.get("dataset"), args.get("split"));
  const wastenet::Classifier clf(model_path, opts);
  const auto& info = clf.info();
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < info.num_classes; ++i) index[info.class_name(i)] = i;
  for (const auto& s : samples) {
    if (!index.count(s.truth)) throw wastenet::ArgumentError(model_path + ": the model has no class '" + s.truth + "'");
  }

  const std::size_t K = info.num_classes;
  std::vector<std::vector<std::size_t>> confusion(K, std::vector<std::size_t>(K, 0));  // [truth][pred]
  std::vector<std::size_t> preds(samples.size());
  const bool bar = isatty(STDERR_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  for (std::size_t i = 0; i < samples.size(); ++i) {
    preds[i] = clf.classify(wastenet::read_image(samples[i].path), tta).top1;
    ++confusion[index[samples[i].truth]][preds[i]];
    if (bar && (i % 8 == 7 || i + 1 == samples.size())) progress(i + 1, samples.size(), elapsed());
  }
  const double seconds = elapsed();
  std::size_t correct = 0;
  for (std::size_t k = 0; k < K; ++k) correct += confusion[k][k];
  const double accuracy = static_cast<double>(correct) / static_cast<double>(samples.size());

  nlohmann::ordered_json doc;
  doc["model"] = model_path;
  doc["split"] = args.get("split");
  doc["images"] = samples.size();
  doc["correct"] = correct;
  doc["accuracy"] = accuracy;
  doc["images_per_second"] = static_cast<double>(samples.size()) / seconds;
  doc["threads"] = clf.threads();
  doc["precision"] = wastenet::precision_name(opts.precision);
  doc["tta"] = args.get("tta", "none");
  doc["input_size"] = info.input_size;
  doc["classes"] = nlohmann::ordered_json::array();
  doc["per_class"] = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < K; ++k) {
    std::size_t tp = confusion[k][k], predicted = 0, actual = 0;
    for (std::size_t j = 0; j < K; ++j) {
      predicted += confusion[j][k];
      actual += confusion[k][j];
    }
    const double p = predicted ? static_cast<double>(tp) / static_cast<double>(predicted) : 0.0;
    const double r = actual ? static_cast<double>(tp) / static_cast<double>(actual) : 0.0;
    doc["classes"].push_back(info.class_name(k));
    doc["per_class"][info.class_name(k)] = {{"precision", p}, {"recall", r}, {"f1", p + r > 0 ? 2 * p * r / (p + r) : 0.0},
                                            {"support", actual}};
  }
  doc["confusion"] = confusion;
  if (args.has("predictions-out")) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < samples.size(); ++i) {
      list.push_back({{"file", samples[i].file}, {"truth", samples[i].truth}, {"pred", info.class_name(preds[i])}});
    }
    std::ofstream out(args.get("predictions-out"));
    if (!out) throw wastenet::FileError(args.get("predictions-out") + ": cannot open for writing");
    out << list.dump(1) << "\n";
  }
  if (args.has("json")) {
    fmt::print("{}\n", doc.dump(2));
    return 0;
  }
  fmt::print("model     {} ({} px)\nsplit     {} ({} images)\naccuracy  {:.4f} ({}/{})\nspeed     {:.1f} images/s ({} threads, "
             "decode + preprocess + forward)\n\n",
             model_path, info.input_size, args.get("split"), samples.size(), accuracy, correct, samples.size(),
             doc["images_per_second"].get<double>(), clf.threads());
  fmt::print("{:<12} {:>9} {:>9} {:>9} {:>8}\n", "class", "precision", "recall", "f1", "support");
  for (std::size_t k = 0; k < K; ++k) {
    const auto& c = doc["per_class"][info.class_name(k)];
    fmt::print("{:<12} {:>9.4f} {:>9.4f} {:>9.4f} {:>8}\n", info.class_name(k), c["precision"].get<double>(),
               c["recall"].get<double>(), c["f1"].get<double>(), c["support"].get<std::size_t>());
  }
  fmt::print("\nconfusion (rows: true class, columns: predicted)\n{:<12}", "");
  for (std::size_t k = 0; k < K; ++k) fmt::print(" {:>9.9}", info.class_name(k));
  fmt::print("\n");
  for (std::size_t k = 0; k < K; ++k) {
    fmt::print("{:<12}", info.class_name(k));
    for (std::size_t j = 0; j < K; ++j) fmt::print(" {:>9}", confusion[k][j]);
    fmt::print("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return wastenet::cli::run_tool("wastenet-eval", argc, argv, run); }
