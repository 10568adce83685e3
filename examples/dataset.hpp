// A dataset split in TrashNet's format, and a progress bar, shared by the evaluation tools.
//
// The split file has one "filename label" per line; the image lives at DIR/images/<class>/<filename>,
// <class> being the file name without its digits, which is also the true class (the numeric label
// is checked against TrashNet's own order where it is one of TrashNet's six).
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "wastenet/error.hpp"

namespace wastenet::cli {

struct Sample {
  std::string file, path, truth;
};

inline std::vector<Sample> read_split(const std::string& dataset, const std::string& split) {
  std::ifstream in(split);
  if (!in) throw wastenet::FileError(split + ": cannot open split file");
  // TrashNet's one-indexed labels.
  static const char* const trashnet_order[] = {"glass", "paper", "cardboard", "plastic", "metal", "trash"};
  std::vector<Sample> out;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string file;
    long label = 0;
    if (!(ls >> file >> label) || label < 1) {
      throw wastenet::FormatError(split + ":" + std::to_string(n) + ": expected 'filename label', got '" + line + "'");
    }
    std::string cls;
    for (char c : file) {
      if ((c >= '0' && c <= '9') || c == '.') break;
      cls += c;
    }
    if (cls.empty()) throw wastenet::FormatError(split + ":" + std::to_string(n) + ": cannot tell the class of '" + file + "'");
    if (label <= 6 && cls != trashnet_order[label - 1]) {
      throw wastenet::FormatError(split + ":" + std::to_string(n) + ": label " + std::to_string(label) + " is '" +
                                  trashnet_order[label - 1] + "' in TrashNet's order but the file is '" + cls + "'");
    }
    out.push_back({file, dataset + "/images/" + cls + "/" + file, cls});
  }
  if (out.empty()) throw wastenet::FormatError(split + ": no samples");
  return out;
}

/// `done` of `total` items after `seconds`, with the rate in `unit`s per second.
inline void progress(std::size_t done, std::size_t total, double seconds, const char* unit = "img") {
  const int width = 40;
  const int filled = static_cast<int>(width * done / total);
  std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu  %.1f %s/s", filled, "########################################",
               width - filled, "", done, total, seconds > 0 ? static_cast<double>(done) / seconds : 0.0, unit);
  if (done == total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace wastenet::cli
