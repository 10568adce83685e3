// wastenet-robustness: top-1 accuracy of a model on a dataset split under each perturbation at graded
// strengths, as a Markdown table and an SVG plot, with the clean accuracy as the reference.
//
//   wastenet-robustness [--model FILE] [--threads N] [--tta none|flips|flips+crops] [--seed S]
//                       [--only NAME,...] [--markdown FILE] [--svg FILE] --dataset DIR --split FILE
//
// Perturbations are applied to the decoded image at its own resolution (blur lengths are camera
// pixels), then the image is classified as wastenet-eval does. Random placements (glare position,
// motion direction, noise) come from a generator seeded by (--seed, image, perturbation), so a
// report is reproducible. With --tta, every accuracy is also measured with test-time augmentation.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <fmt/core.h>

#include "cli.hpp"
#include "dataset.hpp"
#include "wastenet/augment.hpp"
#include "wastenet/classifier.hpp"
#include "wastenet/io/image.hpp"

#ifndef WASTENET_DEFAULT_MODEL
#define WASTENET_DEFAULT_MODEL "models/wastenet_trashnet_mobilenet_v2.safetensors"
#endif

namespace {

namespace aug = wastenet::augment;
using wastenet::ImageU8;

const char* const usage =
    "usage: wastenet-robustness [--model FILE] [--threads N] [--precision fp32|fp16] [--tta none|flips|flips+crops] [--seed S]\n"
    "                           [--only NAME,...] [--markdown FILE] [--svg FILE] --dataset DIR --split FILE\n"
    "  perturbations: rotation zoom brightness contrast glare blur motion_blur noise\n";

struct Perturbation {
  std::string name, unit;
  double identity;                // the strength that leaves the image unchanged
  std::vector<double> strengths;  // including `identity`, in plot order
  std::function<ImageU8(const ImageU8&, double, aug::Rng&)> apply;
};

std::vector<Perturbation> perturbations() {
  aug::WarpOptions reflect, nearest;
  reflect.fill = aug::Fill::reflect;  // Keras' default fill for rotations
  nearest.fill = aug::Fill::nearest;  // zooming out extends the background
  return {
      {"rotation", "degrees", 0, {0, 15, 45, 90, 135, 180},
       [=](const ImageU8& img, double s, aug::Rng&) { return aug::rotate(img, s, reflect); }},
      {"zoom", "object scale (x)", 1, {0.5, 0.75, 1, 1.25, 1.5},
       [=](const ImageU8& img, double s, aug::Rng&) { return aug::zoom(img, 1.0 / s - 1.0, nearest); }},
      {"brightness", "factor", 1, {0.4, 0.7, 1, 1.3, 1.6},
       [](const ImageU8& img, double s, aug::Rng&) { return aug::adjust_brightness(img, s); }},
      {"contrast", "factor", 1, {0.4, 0.7, 1, 1.3, 1.6},
       [](const ImageU8& img, double s, aug::Rng&) { return aug::adjust_contrast(img, s); }},
      {"glare", "strength", 0, {0, 0.25, 0.5, 0.75, 1.0},
       [](const ImageU8& img, double s, aug::Rng& rng) {
         aug::Glare g;
         g.cx = rng.uniform(0.2, 0.8);
         g.cy = rng.uniform(0.2, 0.8);
         g.rx = rng.uniform(0.15, 0.3);
         g.ry = rng.uniform(0.15, 0.3);
         g.degrees = rng.uniform(0, 180);
         g.strength = s;
         return aug::add_glare(img, g);
       }},
      {"blur", "Gaussian sigma (px)", 0, {0, 1, 2, 4, 8},
       [](const ImageU8& img, double s, aug::Rng&) { return aug::gaussian_blur(img, s); }},
      {"motion_blur", "length (px)", 1, {1, 5, 11, 21, 41},
       [](const ImageU8& img, double s, aug::Rng& rng) { return aug::motion_blur(img, static_cast<int>(s), rng.uniform(0, 180)); }},
      {"noise", "sigma (x 255)", 0, {0, 0.02, 0.05, 0.1, 0.2},
       [](const ImageU8& img, double s, aug::Rng& rng) { return aug::add_gaussian_noise(img, s, rng); }},
  };
}

struct Point {
  double strength;
  double accuracy;
  double accuracy_tta;  // negative when not measured
};

std::string format_strength(double s) { return fmt::format("{:g}", s); }

// A grid of small line charts, one per perturbation, accuracy against strength.
std::string svg_report(const std::vector<Perturbation>& ps, const std::vector<std::vector<Point>>& series, double clean,
                       double clean_tta, const std::string& title, const std::string& tta_name) {
  const int cols = 4, pw = 230, ph = 190, ml = 40, mt = 56, gap = 20;
  const int rows = static_cast<int>((ps.size() + cols - 1) / cols);
  const int W = ml + cols * (pw + gap), H = mt + rows * (ph + gap + 24) + 10;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">" << title << "</text>\n";
  o << "<line x1=\"10\" y1=\"36\" x2=\"34\" y2=\"36\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"38\" y=\"40\">top-1</text>\n";
  int lx = 90;
  if (clean_tta >= 0) {
    o << "<line x1=\"" << lx << "\" y1=\"36\" x2=\"" << lx + 24 << "\" y2=\"36\" stroke=\"#ff7f0e\" stroke-width=\"2\"/><text x=\""
      << lx + 28 << "\" y=\"40\">top-1 with TTA (" << tta_name << ")</text>\n";
    lx += 210;
  }
  o << "<line x1=\"" << lx << "\" y1=\"36\" x2=\"" << lx + 24 << "\" y2=\"36\" stroke=\"#888\" stroke-dasharray=\"4 3\"/><text x=\""
    << lx + 28 << "\" y=\"40\">clean top-1 (" << fmt::format("{:.4f}", clean) << ")</text>\n";
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const int x0 = ml + static_cast<int>(i % cols) * (pw + gap), y0 = mt + static_cast<int>(i / cols) * (ph + gap + 24);
    const auto& pts = series[i];
    auto px = [&](std::size_t k) { return x0 + 10 + (pw - 20) * (pts.size() > 1 ? static_cast<double>(k) / (pts.size() - 1) : 0.5); };
    auto py = [&](double acc) { return y0 + ph - ph * acc; };
    o << "<text x=\"" << x0 + pw / 2 << "\" y=\"" << y0 - 6 << "\" text-anchor=\"middle\" font-weight=\"bold\">" << ps[i].name
      << "</text>\n";
    o << "<rect x=\"" << x0 << "\" y=\"" << y0 << "\" width=\"" << pw << "\" height=\"" << ph
      << "\" fill=\"none\" stroke=\"#444\"/>\n";
    for (int g = 0; g <= 5; ++g) {
      const double a = g / 5.0;
      o << "<line x1=\"" << x0 << "\" y1=\"" << py(a) << "\" x2=\"" << x0 + pw << "\" y2=\"" << py(a)
        << "\" stroke=\"#eee\"/>\n";
      if (i % cols == 0) o << "<text x=\"" << x0 - 4 << "\" y=\"" << py(a) + 4 << "\" text-anchor=\"end\">" << a << "</text>\n";
    }
    o << "<line x1=\"" << x0 << "\" y1=\"" << py(clean) << "\" x2=\"" << x0 + pw << "\" y2=\"" << py(clean)
      << "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n";
    for (int which = 0; which < (clean_tta >= 0 ? 2 : 1); ++which) {
      o << "<polyline fill=\"none\" stroke=\"" << (which ? "#ff7f0e" : "#1f77b4") << "\" stroke-width=\"2\" points=\"";
      for (std::size_t k = 0; k < pts.size(); ++k) o << px(k) << "," << py(which ? pts[k].accuracy_tta : pts[k].accuracy) << " ";
      o << "\"/>\n";
    }
    for (std::size_t k = 0; k < pts.size(); ++k) {
      o << "<circle cx=\"" << px(k) << "\" cy=\"" << py(pts[k].accuracy) << "\" r=\"2.5\" fill=\"#1f77b4\"/>\n";
      o << "<text x=\"" << px(k) << "\" y=\"" << y0 + ph + 13 << "\" text-anchor=\"middle\">" << format_strength(pts[k].strength)
        << "</text>\n";
    }
    o << "<text x=\"" << x0 + pw / 2 << "\" y=\"" << y0 + ph + 26 << "\" text-anchor=\"middle\" fill=\"#555\">" << ps[i].unit
      << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

int run(int argc, char** argv) {
  const auto args = wastenet::cli::parse(
      argc, argv, {"model", "threads", "precision", "tta", "seed", "only", "markdown", "svg", "dataset", "split"}, {"help"});
  if (args.has("help")) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (!args.has("dataset") || !args.has("split")) throw wastenet::ArgumentError("--dataset and --split are required (see --help)");
  if (!args.positional.empty()) throw wastenet::ArgumentError("unexpected argument '" + args.positional.front() + "'");
  const std::string tta_name = args.get("tta", "none");
  const auto tta = wastenet::parse_test_time_augmentation(tta_name);
  const bool with_tta = tta != wastenet::TestTimeAugmentation::none;
  const auto seed = static_cast<std::uint64_t>(args.get_int("seed", 0, 0, 1L << 40));
  const auto workers = static_cast<unsigned>(args.get_int("threads", std::max(1u, std::thread::hardware_concurrency()), 1, 1024));
  std::vector<Perturbation> ps = perturbations();
  if (args.has("only")) {
    std::set<std::string> wanted;
    std::stringstream ss(args.get("only"));
    for (std::string n; std::getline(ss, n, ',');) wanted.insert(n);
    for (const auto& n : wanted) {
      if (std::none_of(ps.begin(), ps.end(), [&](const Perturbation& p) { return p.name == n; })) {
        throw wastenet::ArgumentError("--only: unknown perturbation '" + n + "' (see --help)");
      }
    }
    ps.erase(std::remove_if(ps.begin(), ps.end(), [&](const Perturbation& p) { return !wanted.count(p.name); }), ps.end());
  }
  // Check that the outputs can be written before spending minutes on the evaluation.
  for (const char* opt : {"markdown", "svg"}) {
    if (args.has(opt)) {
      std::ofstream probe(args.get(opt), std::ios::app);
      if (!probe) throw wastenet::FileError(args.get(opt) + ": cannot open for writing");
    }
  }

  const std::string model_path = args.get("model", WASTENET_DEFAULT_MODEL);
  const auto samples = wastenet::cli::read_split(args.get("dataset"), args.get("split"));
  wastenet::ClassifierOptions opts;
  opts.threads = 1;  // images are spread over the workers instead
  opts.precision = wastenet::parse_precision(args.get("precision", "fp32"));
  const wastenet::Classifier clf(model_path, opts);
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < clf.info().num_classes; ++i) index[clf.info().class_name(i)] = i;
  for (const auto& s : samples) {
    if (!index.count(s.truth)) throw wastenet::ArgumentError(model_path + ": the model has no class '" + s.truth + "'");
  }

  // Every (perturbation, strength) cell counts correct answers, plain and with TTA; the identity
  // strengths are the clean evaluation, measured once.
  struct Cell {
    std::size_t p, s;
  };
  std::vector<Cell> cells;
  for (std::size_t p = 0; p < ps.size(); ++p) {
    for (std::size_t s = 0; s < ps[p].strengths.size(); ++s) {
      if (ps[p].strengths[s] != ps[p].identity) cells.push_back({p, s});
    }
  }
  const std::size_t per_image = 1 + cells.size();
  std::vector<std::atomic<std::size_t>> correct(per_image), correct_tta(per_image);
  const std::size_t total = samples.size() * per_image;
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex bar_mutex;
  const bool bar = isatty(STDERR_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::exception_ptr> errors(workers);
  auto work = [&](unsigned w) {
    try {
      for (std::size_t i; (i = next.fetch_add(1)) < samples.size();) {
        const ImageU8 img = wastenet::read_image(samples[i].path);
        const std::size_t truth = index[samples[i].truth];
        for (std::size_t c = 0; c < per_image; ++c) {
          ImageU8 shown = img;
          if (c > 0) {
            const Cell& cell = cells[c - 1];
            aug::Rng rng(seed, i * 64 + cell.p);
            shown = ps[cell.p].apply(img, ps[cell.p].strengths[cell.s], rng);
          }
          // The first test-time view is the image itself: one batch gives both answers.
          const auto views = clf.classify(wastenet::test_time_views(shown, tta));
          if (views.front().top1 == truth) ++correct[c];
          if (with_tta && wastenet::Classifier::mean_prediction(views).top1 == truth) ++correct_tta[c];
          const std::size_t d = ++done;
          if (bar && (d % 16 == 0 || d == total)) {
            std::lock_guard<std::mutex> lock(bar_mutex);
            wastenet::cli::progress(d, total, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          }
        }
      }
    } catch (...) {
      errors[w] = std::current_exception();
      next.store(samples.size());
    }
  };
  std::vector<std::thread> pool;
  for (unsigned w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const double n = static_cast<double>(samples.size());
  const double clean = correct[0] / n, clean_tta = with_tta ? correct_tta[0] / n : -1;
  std::vector<std::vector<Point>> series(ps.size());
  for (std::size_t p = 0; p < ps.size(); ++p) {
    for (std::size_t s = 0; s < ps[p].strengths.size(); ++s) {
      std::size_t c = 0;
      for (std::size_t k = 0; k < cells.size(); ++k) {
        if (cells[k].p == p && cells[k].s == s) c = k + 1;
      }
      series[p].push_back({ps[p].strengths[s], correct[c] / n, with_tta ? correct_tta[c] / n : -1});
    }
  }

  std::ostringstream md;
  md << "| perturbation | strength | top-1 | change |" << (with_tta ? " top-1 with TTA (" + tta_name + ") | TTA gain |" : "") << "\n";
  md << "|---|---|---|---|" << (with_tta ? "---|---|" : "") << "\n";
  md << fmt::format("| none (clean) | | {:.4f} | |", clean)
     << (with_tta ? fmt::format(" {:.4f} | {:+.4f} |", clean_tta, clean_tta - clean) : "") << "\n";
  for (std::size_t p = 0; p < ps.size(); ++p) {
    for (const Point& pt : series[p]) {
      if (pt.strength == ps[p].identity) continue;
      md << fmt::format("| {} | {} {} | {:.4f} | {:+.4f} |", ps[p].name, format_strength(pt.strength), ps[p].unit, pt.accuracy,
                        pt.accuracy - clean)
         << (with_tta ? fmt::format(" {:.4f} | {:+.4f} |", pt.accuracy_tta, pt.accuracy_tta - pt.accuracy) : "") << "\n";
    }
  }
  fmt::print("model    {}\nsplit    {} ({} images)\nseed     {}\ntime     {:.0f} s for {} classifications ({} workers{})\n\n{}",
             model_path, args.get("split"), samples.size(), seed, seconds, total, workers,
             with_tta ? ", each also with TTA " + tta_name : "", md.str());
  if (args.has("markdown")) {
    std::ofstream out(args.get("markdown"));
    out << md.str();
    if (!out) throw wastenet::FileError(args.get("markdown") + ": write error");
  }
  if (args.has("svg")) {
    std::ofstream out(args.get("svg"));
    const std::string model_name = model_path.substr(model_path.find_last_of('/') + 1);
    out << svg_report(ps, series, clean, clean_tta,
                      fmt::format("Top-1 of {} under perturbations ({} images)", model_name, samples.size()), tta_name);
    if (!out) throw wastenet::FileError(args.get("svg") + ": write error");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return wastenet::cli::run_tool("wastenet-robustness", argc, argv, run); }
