// wastenet-stream: classify a sequence of frames, debounce with a majority vote, report events.
//
//   wastenet-stream [--model FILE] [--threads N] [--input-size S] [--window N] [--threshold K] [--min-confidence C]
//                   [--window-ms T] [--holdoff-ms H] [--fps F] [--actuator-cmd CMD] [--quiet]
//                   (IMAGE... | DIR | --synthetic [--frames-per-object M] [--glitch-rate R] [--seed S] IMAGE...)
//   wastenet-stream --plan --error-rate E [--fps F] [--actuator-ms A] [--target P] [--max-window N]
//
// Frames come from image files in the order given (a directory: its image files sorted by name).
// --synthetic builds a camera-like stream from a few images instead: each image stays in view for
// M frames, jittered (flips, brightness), and with probability R a frame shows another image
// (a glitch). Frame times are i / F when --fps is given (a simulated camera), else the wall clock.
// --actuator-cmd runs a shell command per event (the servo hook) with WASTENET_LABEL,
// WASTENET_PREVIOUS, WASTENET_FRAME and WASTENET_TIME in its environment.
// --plan sizes the window instead (no model, no frames): for a per-frame error rate E it prints, for
// each N with K = floor(N/2)+1, the switch latency at F frames/s (plus the actuator's A ms) and the
// probability that a window holds K wrong frames, and names the smallest N at or below P.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "classifier_args.hpp"
#include "cli.hpp"
#include "wastenet/classifier.hpp"
#include "wastenet/io/image.hpp"
#include "wastenet/vote.hpp"

#ifndef WASTENET_DEFAULT_MODEL
#define WASTENET_DEFAULT_MODEL "models/wastenet_trashnet_mobilenet_v2.safetensors"
#endif

namespace {

const char* const usage =
    "usage: wastenet-stream [--model FILE] [--threads N] [--precision fp32|fp16] [--input-size S] [--window N] [--threshold K]\n"
    "                       [--min-confidence C] [--window-ms T] [--holdoff-ms H] [--fps F] [--actuator-cmd CMD] [--quiet]\n"
    "                       (IMAGE... | DIR | --synthetic [--frames-per-object M] [--glitch-rate R] [--seed S] IMAGE...)\n"
    "       wastenet-stream --plan --error-rate E [--fps F] [--actuator-ms A] [--target P] [--max-window N]\n";

struct Frame {
  wastenet::ImageU8 image;
  std::string source;
  std::string truth;  // synthetic streams only
};

std::string class_of(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string(), out;
  for (char c : name) {
    if ((c >= '0' && c <= '9') || c == '.') break;
    out += c;
  }
  return out;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (std::filesystem::is_directory(in, ec)) {
      std::vector<std::string> dir;
      for (const auto& e : std::filesystem::directory_iterator(in)) {
        std::string ext = e.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp") dir.push_back(e.path().string());
      }
      std::sort(dir.begin(), dir.end());
      if (dir.empty()) throw wastenet::ArgumentError(in + ": no JPEG, PNG or BMP files in this directory");
      files.insert(files.end(), dir.begin(), dir.end());
    } else {
      files.push_back(in);
    }
  }
  return files;
}

// Horizontal/vertical flips and a brightness factor: enough jitter to make consecutive frames differ.
wastenet::ImageU8 jitter(const wastenet::ImageU8& src, std::mt19937& rng) {
  wastenet::ImageU8 out = src;
  const bool fx = rng() & 1, fy = rng() & 2;
  const float gain = 0.8f + 0.4f * static_cast<float>(rng() % 1001) / 1000.f;
  const int w = src.width(), h = src.height(), c = src.channels();
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) {
        const float v = static_cast<float>(src(fy ? h - 1 - y : y, fx ? w - 1 - x : x, k)) * gain;
        out(y, x, k) = static_cast<std::uint8_t>(std::min(255.f, v + 0.5f));
      }
  return out;
}

int run(int argc, char** argv) {
  const auto args = wastenet::cli::parse(
      argc, argv,
      {"model", "threads", "precision", "input-size", "window", "threshold", "min-confidence", "window-ms", "holdoff-ms", "fps", "actuator-cmd",
       "frames-per-object", "glitch-rate", "seed", "error-rate", "actuator-ms", "target", "max-window"},
      {"synthetic", "quiet", "help", "plan"});
  if (args.has("help")) {
    std::fputs(usage, stdout);
    return 0;
  }
  auto get_double = [&](const std::string& name, double fallback, double lo, double hi) {
    if (!args.has(name)) return fallback;
    const std::string s = args.get(name);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !(v >= lo && v <= hi)) {
      throw wastenet::ArgumentError("--" + name + " must be a number from " + fmt::format("{}", lo) + " to " +
                                    fmt::format("{}", hi) + ", got '" + s + "'");
    }
    return v;
  };

  if (args.has("plan")) {
    if (!args.has("error-rate")) throw wastenet::ArgumentError("--plan needs --error-rate (1 - the model's accuracy)");
    const double error_rate = get_double("error-rate", 0.0, 0.0, 1.0);
    const double plan_fps = get_double("fps", 10.0, 1e-6, 1e6);
    const double actuator = get_double("actuator-ms", 0.0, 0.0, 1e9) / 1000.0;
    const double target = get_double("target", 1e-4, 1e-300, 1.0);
    const auto max_window = static_cast<std::size_t>(args.get_int("max-window", 15, 1, 1001));
    fmt::print("per-frame error rate {:g}, {:g} frames/s, actuator {:g} ms\n\n", error_rate, plan_fps, actuator * 1000);
    fmt::print("| N | K | switch latency (s) | P(false switch) per window |\n|---|---|---|---|\n");
    for (std::size_t n = 1; n <= max_window; ++n) {
      const std::size_t k = wastenet::majority_threshold(n);
      fmt::print("| {} | {} | {:.3f} | {:.3g} |\n", n, k, wastenet::switch_latency_seconds(k, plan_fps, actuator),
                 wastenet::false_switch_probability(n, k, error_rate));
    }
    try {
      const std::size_t n = wastenet::smallest_window(error_rate, target, 1001);
      fmt::print("\nsmallest N with P(false switch) <= {:g}: N = {}, K = {}, latency {:.3f} s\n", target, n,
                 wastenet::majority_threshold(n),
                 wastenet::switch_latency_seconds(wastenet::majority_threshold(n), plan_fps, actuator));
    } catch (const wastenet::VoteError& e) {
      fmt::print("\n{}\n", e.what());
    }
    return 0;
  }
  if (args.positional.empty()) throw wastenet::ArgumentError("no frames given (see --help)");

  wastenet::VoteOptions vo;
  vo.window = static_cast<std::size_t>(args.get_int("window", 10, 1, 100000));
  vo.threshold = static_cast<std::size_t>(args.get_int("threshold", 0, 0, 100000));
  vo.min_confidence = get_double("min-confidence", 0.0, 0.0, 1.0);
  vo.window_seconds = get_double("window-ms", 0.0, 0.0, 1e9) / 1000.0;
  vo.holdoff_seconds = get_double("holdoff-ms", 0.0, 0.0, 1e9) / 1000.0;
  const double fps = get_double("fps", 0.0, 0.0, 1e6);
  wastenet::MajorityVote<std::string> vote(vo);

  const std::string model_path = args.get("model", WASTENET_DEFAULT_MODEL);
  const wastenet::Classifier clf(model_path, wastenet::cli::classifier_options(args));

  // The frame sequence (decoded up front, so that the timing below is the classifier's).
  std::vector<Frame> frames;
  const auto files = expand_inputs(args.positional);
  if (args.has("synthetic")) {
    const long per_object = args.get_int("frames-per-object", 20, 1, 100000);
    const double glitch = get_double("glitch-rate", 0.15, 0.0, 1.0);
    std::mt19937 rng(static_cast<std::uint32_t>(args.get_int("seed", 1, 0, 2147483647)));
    std::vector<wastenet::ImageU8> images;
    for (const auto& f : files) images.push_back(wastenet::read_image(f));
    for (std::size_t i = 0; i < images.size(); ++i) {
      for (long j = 0; j < per_object; ++j) {
        std::size_t shown = i;
        if (images.size() > 1 && static_cast<double>(rng() % 1000000) / 1e6 < glitch) {
          shown = (i + 1 + rng() % (images.size() - 1)) % images.size();
        }
        frames.push_back({jitter(images[shown], rng), files[shown], class_of(files[i])});
      }
    }
  } else {
    for (const auto& f : files) frames.push_back({wastenet::read_image(f), f, {}});
  }

  const std::string actuator = args.get("actuator-cmd");
  const bool quiet = args.has("quiet");
  std::vector<std::string> predicted(frames.size());
  std::vector<double> times(frames.size());
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t events = 0;
  std::size_t truth_start = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto p = clf.classify(frames[i].image);
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    times[i] = fps > 0 ? static_cast<double>(i) / fps : now;
    predicted[i] = clf.info().class_name(p.top1);
    if (i > 0 && frames[i].truth != frames[i - 1].truth) truth_start = i;
    if (!quiet) {
      fmt::print("frame {:5} t={:8.3f}s  {:<10} {:.3f}{}\n", i, times[i], predicted[i], p.probabilities[p.top1],
                 frames[i].truth.empty() ? "" : "  (in view: " + frames[i].truth + ")");
    }
    const auto e = vote.update(predicted[i], p.probabilities[p.top1], times[i]);
    if (!e) continue;
    ++events;
    // Decision latency: from the first frame of the run that won, i.e. the earliest frame in the
    // window predicting the new label (for a synthetic stream: from the frame the object appeared).
    const std::size_t window_begin = i + 1 - e->window_frames;
    std::size_t first = i;
    for (std::size_t j = window_begin; j <= i; ++j) {
      if (e->current && predicted[j] == *e->current) {
        first = j;
        break;
      }
    }
    if (!frames[i].truth.empty()) first = truth_start;
    const std::string cur = e->current.value_or("none"), prev = e->previous.value_or("none");
    fmt::print("EVENT frame {} t={:.3f}s: {} -> {} ({} of {} votes); latency {} frames, {:.0f} ms\n", i, times[i], prev, cur,
               e->votes, e->window_frames, i - first + 1, (times[i] - times[first]) * 1000.0 + (fps > 0 ? 1000.0 / fps : 0.0));
    std::fflush(stdout);
    if (!actuator.empty()) {
      setenv("WASTENET_LABEL", cur.c_str(), 1);
      setenv("WASTENET_PREVIOUS", prev.c_str(), 1);
      setenv("WASTENET_FRAME", std::to_string(i).c_str(), 1);
      setenv("WASTENET_TIME", fmt::format("{:.3f}", times[i]).c_str(), 1);
      const int rc = std::system(actuator.c_str());
      if (rc != 0) fmt::print(stderr, "wastenet-stream: actuator command exited with status {}\n", rc);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::size_t k = vote.threshold();
  fmt::print("{} frames, {} events, {:.1f} frames/s classified ({} threads); window N={}, K={}; model latency "
             "K/IPS = {:.3f} s at the measured rate\n",
             frames.size(), events, static_cast<double>(frames.size()) / seconds, clf.threads(), vo.window, k,
             wastenet::switch_latency_seconds(k, static_cast<double>(frames.size()) / seconds));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return wastenet::cli::run_tool("wastenet-stream", argc, argv, run); }
