// wastenet-bench: FP32 against FP16 on the same build, machine and run.
//
//   wastenet-bench [--threads 1,2] [--scales 100,75] [--runs 30] [--rounds 3] [--dataset DIR --split FILE]
//                  [--json] [--markdown FILE] [--svg FILE] MODEL.safetensors...
//
// Each model is first packed (wastenet-pack's pack_model: batch norm folded, weights in the
// precision) into a temporary folder; the packed file of each precision is what is timed, and its
// size is the "size on disk". For every model, precision, thread count and input scale (percent of
// the model's input size), a child process loads the model and measures, at batch 1, the median
// and p90 latency of --runs forward passes (after 3 warm-up passes) and, at batch 16, images per
// second; its peak resident memory is the batch-1 child's own high-water mark (VmHWM).
// FP32 and FP16 of one setting run back to back, and the whole sweep is repeated --rounds times:
// latencies are the median of the rounds' medians. With --dataset and --split, models whose
// metadata names their classes are also evaluated on that split: top-1 accuracy per precision and
// scale, and top-1 agreement of FP16 with FP32 (decode, resize and normalisation as wastenet-eval).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "../examples/cli.hpp"
#include "../examples/dataset.hpp"
#include "wastenet/classifier.hpp"
#include "wastenet/io/image.hpp"
#include "wastenet/kernels/dispatch.hpp"
#include "wastenet/models/pack.hpp"
#include "timing.hpp"

namespace {

using wastenet::bench::median_of;

const char* const usage =
    "usage: wastenet-bench [--threads 1,2] [--scales 100,75] [--runs 30] [--rounds 3] [--dataset DIR --split FILE]\n"
    "                      [--json] [--markdown FILE] [--svg FILE] MODEL.safetensors...\n";

struct Timing {
  double median_ms = 0, p90_ms = 0, ips_batch1 = 0, ips_batch16 = 0;
  double peak_rss_mib = 0;
};

struct Row {
  std::string model, arch;
  wastenet::Precision precision;
  std::size_t threads = 1, size = 0, scale = 100;
  std::size_t file_bytes = 0;
  std::vector<Timing> rounds;
  double accuracy = -1, agreement = -1;  // -1: not evaluated
};

wastenet::Classifier load(const std::string& path, wastenet::Precision p, std::size_t threads, std::size_t size) {
  wastenet::LoadOptions lo;
  lo.precision = p;
  wastenet::Model m = wastenet::load_model(path, lo);
  m.info.input_size = size;
  wastenet::ClassifierOptions co;
  co.threads = threads;
  co.precision = p;
  return wastenet::Classifier(std::move(m), co);
}

// One measurement, in a fresh process (this program re-executed with --child), which prints its
// numbers on stdout.
std::vector<double> in_child(const std::vector<std::string>& child_args, std::size_t count) {
  int fds[2];
  if (::pipe(fds) != 0) throw wastenet::Error("wastenet-bench: pipe failed");
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) throw wastenet::Error("wastenet-bench: fork failed");
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    static char self[] = "/proc/self/exe";
    argv.push_back(self);
    for (const auto& a : child_args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(self, argv.data());
    std::_Exit(127);
  }
  ::close(fds[1]);
  std::string text;
  char buf[256];
  for (ssize_t r; (r = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(r));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::vector<double> v;
  std::istringstream in(text);
  for (double x; in >> x;) v.push_back(x);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || v.size() != count) {
    throw wastenet::Error("wastenet-bench: a measurement process failed (" + std::to_string(WEXITSTATUS(status)) + ")");
  }
  return v;
}

// This process's peak resident memory in MiB: VmHWM of /proc/self/status. Not wait4's ru_maxrss,
// which keeps the largest RSS the process had before exec, i.e. its parent's at fork.
double own_peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // in kB
  }
  throw wastenet::Error("wastenet-bench: no VmHWM in /proc/self/status");
}

// The child: loads `path` and times `runs` forward passes of a batch after `warmup` passes; prints
// the median and p90 in milliseconds, and its own peak resident memory in MiB.
int child_measure(const std::string& path, wastenet::Precision p, std::size_t threads, std::size_t size, std::size_t batch,
                  long warmup, long runs) {
  const auto clf = load(path, p, threads, size);
  const auto t = wastenet::bench::time_forward(clf, wastenet::bench::random_batch(batch, size), warmup, runs);
  fmt::print("{} {} {}\n", t.median_ms, t.p90_ms, own_peak_rss_mib());
  return 0;
}

Timing measure(const std::string& path, wastenet::Precision p, std::size_t threads, std::size_t size, long runs) {
  Timing t;
  auto args = [&](std::size_t batch, long warmup, long n) {
    return std::vector<std::string>{"--child", path, wastenet::precision_name(p), std::to_string(threads),
                                    std::to_string(size), std::to_string(batch), std::to_string(warmup), std::to_string(n)};
  };
  const auto b1 = in_child(args(1, 3, runs), 3);
  t.median_ms = b1[0];
  t.p90_ms = b1[1];
  t.ips_batch1 = 1000.0 / t.median_ms;
  t.peak_rss_mib = b1[2];
  const auto b16 = in_child(args(16, 1, std::max(3L, runs / 6)), 3);
  t.ips_batch16 = 16000.0 / b16[0];
  return t;
}

std::vector<std::size_t> parse_list(const std::string& text, const char* what, std::size_t lo, std::size_t hi) {
  std::vector<std::size_t> out;
  for (const auto& part : wastenet::detail::split_commas(text)) {
    std::size_t used = 0;
    unsigned long v = 0;
    try {
      v = std::stoul(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size() || v < lo || v > hi) {
      throw wastenet::ArgumentError(std::string("--") + what + " must be a comma-separated list of integers from " +
                                    std::to_string(lo) + " to " + std::to_string(hi) + ", got '" + text + "'");
    }
    out.push_back(v);
  }
  return out;
}

std::string svg_plot(const std::vector<Row>& rows) {
  // Latency at 1 thread (first thread count) and 100% scale per model, FP32 and FP16 bars, with
  // accuracy beside the models that have it.
  std::vector<const Row*> shown;
  for (const auto& r : rows) {
    if (r.threads == rows.front().threads && r.scale == rows.front().scale) shown.push_back(&r);
  }
  double most = 1;
  for (const Row* r : shown) most = std::max(most, median_of([&] {
    std::vector<double> v;
    for (const auto& t : r->rounds) v.push_back(t.median_ms);
    return v;
  }()));
  const int bar_h = 18, gap = 14, left = 300, width = 820;
  const int height = 60 + static_cast<int>(shown.size()) * bar_h + static_cast<int>(shown.size() / 2) * gap + 40;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"22\" font-size=\"15\">Median latency at batch 1, {} thread(s), {}% input size: FP32 and FP16</text>\n",
      width, height, rows.front().threads, rows.front().scale);
  int y = 44;
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const Row& r = *shown[i];
    std::vector<double> v;
    for (const auto& t : r.rounds) v.push_back(t.median_ms);
    const double ms = median_of(v);
    const int w = static_cast<int>(380.0 * ms / most);
    const char* colour = r.precision == wastenet::Precision::fp16 ? "#e07b39" : "#3a6ea5";
    std::string label = r.model + " " + wastenet::precision_name(r.precision);
    std::string extra = fmt::format("{:.2f} ms", ms);
    if (r.accuracy >= 0) extra += fmt::format("   top-1 {:.2f}%", 100.0 * r.accuracy);
    if (r.agreement >= 0) extra += fmt::format(", agrees with FP32 on {:.2f}%", 100.0 * r.agreement);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", left - 8, y + 13, label);
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", left, y, w, bar_h - 3, colour);
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", left + w + 6, y + 13, extra);
    y += bar_h;
    if (i % 2 == 1) y += gap;
  }
  // What FP16 means depends on the kernel path the sweep ran on.
  const bool native_half = wastenet::kernel_path() == wastenet::KernelPath::avx512fp16;
  s += fmt::format("<text x=\"10\" y=\"{}\" fill=\"#555\">blue: FP32, orange: FP16 ({}; kernels: {})</text>\n",
                   height - 14,
                   native_half ? "binary16 storage; 1x1 and 3x3/5x5 depthwise convolutions in binary16 arithmetic"
                               : "binary16 storage, FP32 arithmetic",
                   wastenet::kernel_path_name(wastenet::kernel_path()));
  s += "</svg>\n";
  return s;
}

int run(int argc, char** argv) {
  if (argc == 9 && std::string(argv[1]) == "--child") {
    return child_measure(argv[2], wastenet::parse_precision(argv[3]), std::stoul(argv[4]), std::stoul(argv[5]),
                         std::stoul(argv[6]), std::stol(argv[7]), std::stol(argv[8]));
  }
  const auto args = wastenet::cli::parse(argc, argv, {"threads", "scales", "runs", "rounds", "dataset", "split", "markdown", "svg"},
                                         {"json", "help"});
  if (args.has("help")) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (args.positional.empty()) throw wastenet::ArgumentError("no model given (see --help)");
  if (args.has("dataset") != args.has("split")) throw wastenet::ArgumentError("--dataset and --split go together");
  const auto threads = parse_list(args.get("threads", "1,2"), "threads", 1, 1024);
  const auto scales = parse_list(args.get("scales", "100,75"), "scales", 10, 200);
  const long runs = args.get_int("runs", 30, 3, 100000);
  const long rounds = args.get_int("rounds", 3, 1, 100);
  const wastenet::Precision precisions[] = {wastenet::Precision::fp32, wastenet::Precision::fp16};

  // Pack every model in both precisions.
  const auto dir = std::filesystem::temp_directory_path() / ("wastenet-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  struct Packed {
    std::string name, arch, files[2];
    std::size_t bytes[2] = {0, 0}, size = 0;
    bool has_classes = false;
  };
  std::vector<Packed> models;
  for (const auto& path : args.positional) {
    const auto file = wastenet::SafetensorsFile::open(path);
    Packed p;
    p.name = std::filesystem::path(path).stem().string();
    for (int k = 0; k < 2; ++k) {
      p.files[k] = (dir / (p.name + "." + wastenet::precision_name(precisions[k]) + ".safetensors")).string();
      p.bytes[k] = wastenet::pack_model(file, p.files[k], precisions[k]).bytes;
    }
    const auto m = wastenet::load_model(p.files[0]);
    p.arch = m.info.arch;
    p.size = m.info.input_size;
    p.has_classes = !m.info.classes.empty();
    models.push_back(p);
  }

  std::vector<Row> rows;
  for (const auto& m : models)
    for (std::size_t sc : scales)
      for (std::size_t t : threads)
        for (int k = 0; k < 2; ++k) {
          Row r;
          r.model = m.name;
          r.arch = m.arch;
          r.precision = precisions[k];
          r.threads = t;
          r.scale = sc;
          r.size = std::max<std::size_t>(32, (m.size * sc + 50) / 100);
          r.file_bytes = m.bytes[k];
          rows.push_back(r);
        }
  const std::size_t total = rows.size() * static_cast<std::size_t>(rounds);
  const bool bar = isatty(STDERR_FILENO);  // not into a log file
  std::size_t done = 0;
  const auto start = std::chrono::steady_clock::now();
  for (long round = 0; round < rounds; ++round) {
    for (auto& r : rows) {
      const auto& m = *std::find_if(models.begin(), models.end(), [&](const Packed& p) { return p.name == r.model; });
      r.rounds.push_back(measure(m.files[r.precision == wastenet::Precision::fp16], r.precision, r.threads, r.size, runs));
      ++done;
      if (bar) {
        wastenet::cli::progress(done, total, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                                "settings");
      }
    }
  }

  // Accuracy and agreement on a dataset, for models that name their classes.
  if (args.has("dataset")) {
    const auto samples = wastenet::cli::read_split(args.get("dataset"), args.get("split"));
    std::vector<wastenet::ImageU8> images;
    for (const auto& s : samples) images.push_back(wastenet::read_image(s.path));
    for (const auto& m : models) {
      if (!m.has_classes) continue;
      for (std::size_t sc : scales) {
        std::vector<std::size_t> top[2];
        for (int k = 0; k < 2; ++k) {
          const auto clf = load(m.files[k], precisions[k], threads.back(), std::max<std::size_t>(32, (m.size * sc + 50) / 100));
          for (const auto& im : images) top[k].push_back(clf.classify(im).top1);
          std::size_t correct = 0, agree = 0;
          for (std::size_t i = 0; i < images.size(); ++i) {
            correct += clf.info().class_name(top[k][i]) == samples[i].truth;
            agree += top[k][i] == top[0][i];
          }
          for (auto& r : rows) {
            if (r.model == m.name && r.scale == sc && r.precision == precisions[k]) {
              r.accuracy = static_cast<double>(correct) / static_cast<double>(images.size());
              r.agreement = k == 0 ? -1 : static_cast<double>(agree) / static_cast<double>(images.size());
            }
          }
        }
      }
    }
  }
  std::filesystem::remove_all(dir);

  nlohmann::json doc = nlohmann::json::array();
  std::string md = fmt::format("kernels: {}; rounds: {}; runs per round: {} (batch 1), {} (batch 16)\n\n",
                               wastenet::kernel_path_name(wastenet::kernel_path()), rounds, runs, std::max(3L, runs / 6));
  md += "| model | precision | threads | input | median ms | p90 ms | images/s (batch 1) | images/s (batch 16) | file MiB | peak RSS MiB | top-1 | agreement with FP32 |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    std::vector<double> med, p90, ips16, rss;
    for (const auto& t : r.rounds) {
      med.push_back(t.median_ms);
      p90.push_back(t.p90_ms);
      ips16.push_back(t.ips_batch16);
      rss.push_back(t.peak_rss_mib);
    }
    const double m = median_of(med);
    nlohmann::json j = {{"model", r.model}, {"arch", r.arch}, {"precision", wastenet::precision_name(r.precision)},
                        {"threads", r.threads}, {"input_size", r.size}, {"scale_percent", r.scale},
                        {"median_ms", m}, {"p90_ms", median_of(p90)}, {"images_per_second_batch1", 1000.0 / m},
                        {"images_per_second_batch16", median_of(ips16)}, {"file_bytes", r.file_bytes},
                        {"peak_rss_mib", median_of(rss)}};
    if (r.accuracy >= 0) j["accuracy"] = r.accuracy;
    if (r.agreement >= 0) j["agreement_with_fp32"] = r.agreement;
    doc.push_back(j);
    md += fmt::format("| {} | {} | {} | {} px ({}%) | {:.2f} | {:.2f} | {:.1f} | {:.1f} | {:.2f} | {:.1f} | {} | {} |\n", r.model,
                      wastenet::precision_name(r.precision), r.threads, r.size, r.scale, m, median_of(p90), 1000.0 / m,
                      median_of(ips16), static_cast<double>(r.file_bytes) / 1048576.0, median_of(rss),
                      r.accuracy >= 0 ? fmt::format("{:.2f}%", 100.0 * r.accuracy) : std::string("-"),
                      r.agreement >= 0 ? fmt::format("{:.2f}%", 100.0 * r.agreement) : std::string("-"));
  }
  auto write_text = [](const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out) throw wastenet::FileError(path + ": cannot write");
  };
  if (args.has("markdown")) write_text(args.get("markdown"), md);
  if (args.has("svg")) write_text(args.get("svg"), svg_plot(rows));
  if (args.has("json")) {
    fmt::print("{}\n", doc.dump(1));
  } else {
    fmt::print("{}", md);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return wastenet::cli::run_tool("wastenet-bench", argc, argv, run); }
