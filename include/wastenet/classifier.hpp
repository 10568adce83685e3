// wastenet/classifier.hpp - load once, classify many.
//
//   wastenet::Classifier clf("models/wastenet_trashnet_mobilenet_v2.safetensors");
//   wastenet::Prediction p = clf.classify(wastenet::read_image("bottle.jpg"));
//   fmt::print("{} {:.3f}\n", clf.info().class_name(p.top1), p.probabilities[p.top1]);
//
// classify() is safe to call from many threads on one Classifier: the model is immutable and
// each call borrows its own activation workspace.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "wastenet/augment/geometry.hpp"
#include "wastenet/error.hpp"
#include "wastenet/image.hpp"
#include "wastenet/io/image.hpp"
#include "wastenet/models/model.hpp"
#include "wastenet/parallel.hpp"
#include "wastenet/precision.hpp"
#include "wastenet/preprocess.hpp"

namespace wastenet {

/// Numerically stable softmax of one row.
inline std::vector<float> softmax(const float* logits, std::size_t n) {
  std::vector<float> p(n);
  if (n == 0) return p;
  const float m = *std::max_element(logits, logits + n);
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += (p[i] = std::exp(logits[i] - m));
  for (auto& v : p) v = static_cast<float>(v / sum);
  return p;
}

struct Prediction {
  std::vector<float> logits;
  std::vector<float> probabilities;
  std::size_t top1 = 0;

  /// Class indices of the k most probable classes, most probable first (ties: lower index first).
  std::vector<std::size_t> top(std::size_t k) const {
    std::vector<std::size_t> idx(probabilities.size());
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    k = std::min(k, idx.size());
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                      [&](std::size_t a, std::size_t b) {
                        return probabilities[a] > probabilities[b] || (probabilities[a] == probabilities[b] && a < b);
                      });
    idx.resize(k);
    return idx;
  }
};

/// Test-time augmentation: classify several views of each image and average their probabilities.
enum class TestTimeAugmentation {
  none,             // the image as given
  flips,            // + mirrored left-right and top-bottom (3 views)
  flips_and_crops,  // + the four corner crops covering 87.5% of each side (7 views)
};

inline TestTimeAugmentation parse_test_time_augmentation(const std::string& s) {
  if (s == "none") return TestTimeAugmentation::none;
  if (s == "flips") return TestTimeAugmentation::flips;
  if (s == "flips+crops") return TestTimeAugmentation::flips_and_crops;
  throw ArgumentError("test-time augmentation must be 'none', 'flips' or 'flips+crops', got '" + s + "'");
}

/// The views of `image` that `tta` averages over (the first is the image itself).
inline std::vector<ImageU8> test_time_views(const ImageU8& image, TestTimeAugmentation tta) {
  std::vector<ImageU8> views{image};
  if (tta == TestTimeAugmentation::none) return views;
  views.push_back(augment::flip_horizontal(image));
  views.push_back(augment::flip_vertical(image));
  if (tta == TestTimeAugmentation::flips_and_crops) {
    const int w = std::max(1, image.width() * 7 / 8), h = std::max(1, image.height() * 7 / 8);
    for (int corner = 0; corner < 4; ++corner) {
      views.push_back(augment::crop(image, (corner & 1) ? image.width() - w : 0, (corner & 2) ? image.height() - h : 0, w, h));
    }
  }
  return views;
}

struct ClassifierOptions {
  std::string arch;            // needed when the file has no "arch" metadata
  std::size_t threads = 0;     // 0: all cores
  std::string resize;          // "fit" or "crop"; empty: the model's metadata, else fit
  Precision precision = Precision::fp32;  // fp16: binary16 weights and activations (precision.hpp)
  std::size_t input_size = 0;  // 0: the model's metadata; else min_input_size to max_input_size(arch),
                               // e.g. a lower resolution for speed, as the WasteNet system ran at 75%
};

class Classifier {
 public:
  explicit Classifier(const std::string& model_path, const ClassifierOptions& options = {})
      : Classifier(load_model(model_path, LoadOptions{options.arch, options.precision}), options) {}

  Classifier(Model model, const ClassifierOptions& options = {})
      : model_(std::move(model)), pool_(resolve_threads(options.threads)) {
    resize_ = parse_resize_mode(options.resize.empty() ? model_.info.resize : options.resize);
    if (options.input_size != 0) {
      const std::size_t most = max_input_size(model_.info.arch);
      if (options.input_size < min_input_size || options.input_size > most) {
        throw ArgumentError("input size must be from " + std::to_string(min_input_size) + " to " + std::to_string(most) + " for " + model_.info.arch +
                            ", got " + std::to_string(options.input_size));
      }
      model_.info.input_size = options.input_size;  // info() reports the size images are resized to
    }
    norm_.mean = model_.info.mean;
    norm_.std = model_.info.std;
  }

  const ModelInfo& info() const noexcept { return model_.info; }
  const Network& network() const noexcept { return model_.network; }
  ResizeMode resize_mode() const noexcept { return resize_; }
  std::size_t threads() const noexcept { return pool_.threads(); }

  /// The normalised input tensor [n, size, size, 3] for a batch of images.
  Tensor<float> preprocess(const std::vector<ImageU8>& images) const {
    const std::size_t s = model_.info.input_size;
    Tensor<float> t(Shape4{images.size(), s, s, 3});
    for (std::size_t i = 0; i < images.size(); ++i) {
      image_to_tensor(resize_for_model(images[i], s, resize_), norm_, t, i);
    }
    return t;
  }

  /// Raw logits [n, classes] for a preprocessed batch (NHWC, or NCHW which is converted).
  ///
  /// A batch runs image by image: one image's activations stay in the caches, where a whole
  /// batch's would not (docs/BENCHMARKS.md, batch 16). With several threads, each thread takes
  /// whole images and runs each on its own; one image alone spreads its layers over the threads.
  /// Either way, every row equals, bit for bit, the logits of its image classified alone.
  Tensor<float> logits(const Tensor<float>& input) const {
    if (input.layout() != Layout::nhwc) return logits(input.to_layout(Layout::nhwc));
    const Shape4 in = input.shape();
    if (in.n <= 1) {
      std::unique_ptr<Network::Workspace> ws = borrow();
      Tensor<float> out = model_.network.forward(input, *ws, pool_);
      give_back(std::move(ws));
      return out;
    }
    const std::size_t image_values = in.h * in.w * in.c;
    std::vector<Tensor<float>> rows(in.n);
    pool_.parallel_for(in.n, [&](std::size_t begin, std::size_t end) {
      ThreadPool this_thread(1);  // no workers: the image's layers run on the calling thread
      std::unique_ptr<Network::Workspace> ws = borrow();
      for (std::size_t i = begin; i < end; ++i) {
        rows[i] = model_.network.forward(input.data() + i * image_values, Shape4{1, in.h, in.w, in.c}, *ws, this_thread);
      }
      give_back(std::move(ws));
    });
    Shape4 out_shape = rows.front().shape();
    const std::size_t row_values = out_shape.count();
    out_shape.n = in.n;
    Tensor<float> out(out_shape);
    for (std::size_t i = 0; i < in.n; ++i) std::copy(rows[i].data(), rows[i].data() + row_values, out.data() + i * row_values);
    return out;
  }

  std::vector<Prediction> classify(const std::vector<ImageU8>& images) const {
    if (images.empty()) return {};
    const Tensor<float> out = logits(preprocess(images));
    const std::size_t k = model_.info.num_classes;
    std::vector<Prediction> preds(images.size());
    for (std::size_t i = 0; i < images.size(); ++i) {
      const float* row = out.data() + i * k;
      preds[i].logits.assign(row, row + k);
      preds[i].probabilities = softmax(row, k);
      preds[i].top1 = static_cast<std::size_t>(std::max_element(row, row + k) - row);
    }
    return preds;
  }

  Prediction classify(const ImageU8& image) const { return classify(std::vector<ImageU8>{image}).front(); }

  /// Classifies each image as the mean of its test-time views: probabilities and logits are the
  /// means over the views, top1 the most probable class of the mean.
  std::vector<Prediction> classify(const std::vector<ImageU8>& images, TestTimeAugmentation tta) const {
    if (tta == TestTimeAugmentation::none) return classify(images);
    std::vector<Prediction> out;
    out.reserve(images.size());
    for (const ImageU8& img : images) out.push_back(mean_prediction(classify(test_time_views(img, tta))));
    return out;
  }

  /// The mean of several predictions of one image (its test-time views): mean probabilities and
  /// logits, top1 the most probable class of the mean.
  static Prediction mean_prediction(const std::vector<Prediction>& views) {
    Prediction mean;
    mean.logits.assign(views.front().logits.size(), 0.f);
    mean.probabilities.assign(views.front().probabilities.size(), 0.f);
    for (const Prediction& v : views) {
      for (std::size_t k = 0; k < mean.logits.size(); ++k) {
        mean.logits[k] += v.logits[k] / static_cast<float>(views.size());
        mean.probabilities[k] += v.probabilities[k] / static_cast<float>(views.size());
      }
    }
    mean.top1 = static_cast<std::size_t>(std::max_element(mean.probabilities.begin(), mean.probabilities.end()) -
                                         mean.probabilities.begin());
    return mean;
  }

  Prediction classify(const ImageU8& image, TestTimeAugmentation tta) const {
    return classify(std::vector<ImageU8>{image}, tta).front();
  }

 private:
  static std::size_t resolve_threads(std::size_t t) {
    if (t == 0) t = std::max(1u, std::thread::hardware_concurrency());
    if (t > 1024) throw ArgumentError("threads must be between 1 and 1024, got " + std::to_string(t));
    return t;
  }

  std::unique_ptr<Network::Workspace> borrow() const {
    std::lock_guard<std::mutex> lock(ws_mutex_);
    if (spare_.empty()) return std::make_unique<Network::Workspace>();
    auto ws = std::move(spare_.back());
    spare_.pop_back();
    return ws;
  }
  void give_back(std::unique_ptr<Network::Workspace> ws) const {
    std::lock_guard<std::mutex> lock(ws_mutex_);
    spare_.push_back(std::move(ws));
  }

  Model model_;
  ResizeMode resize_ = ResizeMode::fit;
  Normalization norm_;
  mutable ThreadPool pool_;
  mutable std::mutex ws_mutex_;
  mutable std::vector<std::unique_ptr<Network::Workspace>> spare_;
};

}  // namespace wastenet
