// The classifier options that wastenet-classify, wastenet-eval and wastenet-stream all take, read
// one way.
#pragma once

#include <cstddef>

#include "cli.hpp"
#include "wastenet/classifier.hpp"
#include "wastenet/precision.hpp"

namespace wastenet::cli {

/// --threads (for one forward pass; default: all cores), --precision (default fp32) and
/// --input-size (default: the model's). The input size's upper bound depends on the architecture,
/// which only the model file names, so the Classifier checks it.
inline ClassifierOptions classifier_options(const Args& args) {
  ClassifierOptions opts;
  opts.threads = static_cast<std::size_t>(args.get_int("threads", 0, 1, 1024));
  opts.precision = parse_precision(args.get("precision", "fp32"));
  opts.input_size = static_cast<std::size_t>(args.get_int("input-size", 0, static_cast<long>(min_input_size), 4096));
  return opts;
}

}  // namespace wastenet::cli
