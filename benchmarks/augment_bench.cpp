// wastenet-bench-augment: rotate, zoom and resize of a 512x384 RGB image, wastenet against OpenCV's
// warpAffine / resize on the same parameters, in alternation in one run, one thread each.
//
//   wastenet-bench-augment [--runs R] [--rounds K] [IMAGE]
//
// Prints the median time per call of each (median over `rounds` rounds of `runs` calls) and the ratio
// of throughputs, wastenet / OpenCV (above 1: wastenet is faster).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "wastenet/augment.hpp"
#include "wastenet/io/image.hpp"

namespace {

namespace aug = wastenet::augment;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Mean microseconds per call over `runs` calls.
double time_us(const std::function<void()>& fn, int runs) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) fn();
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::micro>(t1 - t0).count() / runs;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 50, rounds = 9;
  std::string path = std::string(WASTENET_SOURCE_DIR) + "/examples/images/glass12.jpg";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: wastenet-bench-augment [--runs R] [--rounds K] [IMAGE]\n");
      return 0;
    } else {
      path = a;
    }
  }
  if (runs < 1 || rounds < 1) {
    std::fprintf(stderr, "wastenet-bench-augment: --runs and --rounds must be positive\n");
    return 2;
  }
  try {
    cv::setNumThreads(1);
    // 512 wide, 384 high, as the benchmark asks (TrashNet photos are stored 384x512).
    const wastenet::ImageU8 img = aug::resize(wastenet::read_image(path), 512, 384);
    const cv::Mat mat = cv::Mat(img.height(), img.width(), CV_8UC3, const_cast<std::uint8_t*>(img.data())).clone();
    const cv::Size size(img.width(), img.height());
    const cv::Point2f centre((img.width() - 1) * 0.5f, (img.height() - 1) * 0.5f);
    cv::Mat out;
    struct Case {
      const char* name;
      std::function<void()> ours, theirs;
    };
    const std::vector<Case> cases = {
        {"rotate 30 deg, bilinear, constant fill", [&] { (void)aug::rotate(img, 30.0); },
         [&] { cv::warpAffine(mat, out, cv::getRotationMatrix2D(centre, 30.0, 1.0), size, cv::INTER_LINEAR, cv::BORDER_CONSTANT); }},
        {"rotate 30 deg, bilinear, reflect fill",
         [&] {
           aug::WarpOptions o;
           o.fill = aug::Fill::reflect;
           (void)aug::rotate(img, 30.0, o);
         },
         [&] { cv::warpAffine(mat, out, cv::getRotationMatrix2D(centre, 30.0, 1.0), size, cv::INTER_LINEAR, cv::BORDER_REFLECT); }},
        {"zoom out 0.5 (Keras), bilinear", [&] { (void)aug::zoom(img, 0.5); },
         [&] { cv::warpAffine(mat, out, cv::getRotationMatrix2D(centre, 0.0, 1.0 / 1.5), size, cv::INTER_LINEAR, cv::BORDER_CONSTANT); }},
        {"zoom in -0.5 (Keras), bilinear", [&] { (void)aug::zoom(img, -0.5); },
         [&] { cv::warpAffine(mat, out, cv::getRotationMatrix2D(centre, 0.0, 2.0), size, cv::INTER_LINEAR, cv::BORDER_CONSTANT); }},
        {"resize to 224x224, bilinear", [&] { (void)aug::resize(img, 224, 224); },
         [&] { cv::resize(mat, out, cv::Size(224, 224), 0, 0, cv::INTER_LINEAR); }},
        {"resize to 384x288, area", [&] { (void)aug::resize(img, 384, 288, aug::ResizeFilter::area); },
         [&] { cv::resize(mat, out, cv::Size(384, 288), 0, 0, cv::INTER_AREA); }},
    };
    std::printf("wastenet-bench-augment: 512x384 RGB uint8, 1 thread each (cv::setNumThreads(1)), OpenCV %s\n",
                CV_VERSION);
    std::printf("median of %d rounds x %d calls, alternating\n\n", rounds, runs);
    std::printf("| operation | wastenet us | OpenCV us | throughput wastenet / OpenCV |\n|---|---|---|---|\n");
    for (const Case& c : cases) {
      std::vector<double> a, b;
      c.ours();
      c.theirs();
      for (int r = 0; r < rounds; ++r) {
        a.push_back(time_us(c.ours, runs));
        b.push_back(time_us(c.theirs, runs));
      }
      const double ma = median(a), mb = median(b);
      std::printf("| %s | %.1f | %.1f | %.2f |\n", c.name, ma, mb, mb / ma);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wastenet-bench-augment: %s\n", e.what());
    return 1;
  }
  return 0;
}
