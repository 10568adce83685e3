// The augmentation toolkit: agreement with OpenCV (a test-only dependency), seeded determinism, and
// a clear error for every nonsensical parameter.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "test_util.hpp"
#include "wastenet/augment.hpp"
#include "wastenet/io/image.hpp"

namespace {

namespace aug = wastenet::augment;
using wastenet::ImageF32;
using wastenet::ImageU8;

// A real 384x512 TrashNet photo: edges, texture and flat areas, as the toolkit will see.
const ImageU8& photo() {
  static const ImageU8 img = wastenet::read_image(wastenet::test::source_dir() + "/examples/images/glass12.jpg");
  return img;
}

cv::Mat as_mat(const ImageU8& img) {
  return cv::Mat(img.height(), img.width(), CV_8UC(img.channels()), const_cast<std::uint8_t*>(img.data())).clone();
}
cv::Mat as_mat(const ImageF32& img) {
  return cv::Mat(img.height(), img.width(), CV_32FC(img.channels()), const_cast<float*>(img.data())).clone();
}

struct Diff {
  double mean = 0;  // over every sample
  double max_interior = 0;  // over samples at least `margin` pixels from every border
  double max = 0;
};

template <class T>
Diff compare(const wastenet::Image<T>& ours, const cv::Mat& theirs, int margin = 3) {
  EXPECT_EQ(theirs.cols, ours.width());
  EXPECT_EQ(theirs.rows, ours.height());
  EXPECT_EQ(theirs.channels(), ours.channels());
  Diff d;
  if (theirs.cols != ours.width() || theirs.rows != ours.height()) return {1e9, 1e9, 1e9};
  double sum = 0;
  const int cn = ours.channels();
  for (int y = 0; y < ours.height(); ++y) {
    const T* t = theirs.ptr<T>(y);
    for (int x = 0; x < ours.width() * cn; ++x) {
      const double e = std::abs(static_cast<double>(ours.row(y)[x]) - static_cast<double>(t[x]));
      sum += e;
      d.max = std::max(d.max, e);
      const int px = x / cn;
      if (y >= margin && y < ours.height() - margin && px >= margin && px < ours.width() - margin) {
        d.max_interior = std::max(d.max_interior, e);
      }
    }
  }
  d.mean = sum / static_cast<double>(ours.size());
  return d;
}

int cv_border(aug::Fill f) {
  switch (f) {
    case aug::Fill::constant: return cv::BORDER_CONSTANT;
    case aug::Fill::reflect: return cv::BORDER_REFLECT;
    case aug::Fill::nearest: return cv::BORDER_REPLICATE;
    case aug::Fill::wrap: return cv::BORDER_WRAP;
  }
  return -1;
}

const aug::Fill kFills[] = {aug::Fill::constant, aug::Fill::reflect, aug::Fill::nearest, aug::Fill::wrap};

cv::Mat inverse_map(const aug::AffineMap& m) {
  return (cv::Mat_<double>(2, 3) << m.m[0], m.m[1], m.m[2], m.m[3], m.m[4], m.m[5]);
}

// ---- Exact operations ----

TEST(AugmentGeometry, FlipsAndCropsAreExact) {
  const ImageU8& img = photo();
  cv::Mat h, v;
  cv::flip(as_mat(img), h, 1);
  cv::flip(as_mat(img), v, 0);
  EXPECT_EQ(compare(aug::flip_horizontal(img), h).max, 0);
  EXPECT_EQ(compare(aug::flip_vertical(img), v).max, 0);
  EXPECT_EQ(aug::flip_horizontal(aug::flip_horizontal(img)), img);
  EXPECT_EQ(compare(aug::crop(img, 37, 21, 200, 150), as_mat(img)(cv::Rect(37, 21, 200, 150))).max, 0);
  // torchvision's CenterCrop on the 384x512 photo: left = round((384 - 224) / 2) = 80, top =
  // round((512 - 224) / 2) = 144; with an odd difference (384 - 223) / 2 = 80.5 rounds to even, 80.
  ASSERT_EQ(img.width(), 384);
  ASSERT_EQ(img.height(), 512);
  EXPECT_EQ(compare(aug::center_crop(img, 224, 224), as_mat(img)(cv::Rect(80, 144, 224, 224))).max, 0);
  EXPECT_EQ(compare(aug::center_crop(img, 223, 224), as_mat(img)(cv::Rect(80, 144, 223, 224))).max, 0);
}

// ---- Warps: bit-exact with OpenCV on the same inverse map, and the same geometry as its helpers ----

TEST(AugmentGeometry, WarpMatchesOpenCvBitForBitOnTheSameMap) {
  const ImageU8& img = photo();
  for (aug::Fill fill : kFills) {
    for (double deg : {0.0, 17.5, 45.0, 90.0, 133.0, 180.0, -73.25}) {
      aug::WarpOptions o;
      o.fill = fill;
      o.fill_value = 255;
      const aug::AffineMap m = aug::rotation_map(img.width(), img.height(), deg);
      cv::Mat theirs;
      cv::warpAffine(as_mat(img), theirs, inverse_map(m), cv::Size(img.width(), img.height()),
                     cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv_border(fill), cv::Scalar::all(255));
      EXPECT_EQ(compare(aug::warp_affine(img, m, img.width(), img.height(), o), theirs).max, 0)
          << deg << " degrees, fill " << static_cast<int>(fill);
      o.interpolation = aug::Interpolation::nearest;
      cv::warpAffine(as_mat(img), theirs, inverse_map(m), cv::Size(img.width(), img.height()),
                     cv::INTER_NEAREST | cv::WARP_INVERSE_MAP, cv_border(fill), cv::Scalar::all(255));
      EXPECT_EQ(compare(aug::warp_affine(img, m, img.width(), img.height(), o), theirs).max, 0)
          << deg << " degrees (nearest), fill " << static_cast<int>(fill);
    }
  }
}

TEST(AugmentGeometry, VectorAndPortablePathsAgreeBitForBit) {
  // Odd sizes exercise the blocks of eight and the scalar tails; zooms and rotations cross borders.
  const ImageU8 odd = aug::resize(photo(), 37, 29);
  for (const ImageU8* img : {&photo(), &odd}) {
    for (aug::Fill fill : kFills) {
      aug::WarpOptions o;
      o.fill = fill;
      o.fill_value = 77;
      for (double deg : {0.0, 12.5, 90.0, 200.0}) {
        for (double z : {-0.6, 0.0, 0.8}) {
          aug::AffineMap m = aug::rotation_map(img->width(), img->height(), deg);
          for (int k : {0, 1, 3, 4}) m.m[k] *= 1 + z;
          aug::simd_allowed() = true;
          const ImageU8 fast = aug::warp_affine(*img, m, img->width() + 3, img->height(), o);
          aug::simd_allowed() = false;
          const ImageU8 portable = aug::warp_affine(*img, m, img->width() + 3, img->height(), o);
          aug::simd_allowed() = true;
          EXPECT_EQ(fast, portable) << img->width() << "x" << img->height() << " " << deg << " deg, zoom " << z;
        }
      }
    }
  }
}

TEST(AugmentGeometry, VectorAndPortableResizeAgreeBitForBit) {
  const ImageU8 odd = aug::resize(photo(), 37, 29);
  for (const ImageU8* img : {&photo(), &odd}) {
    for (auto [w, h] : {std::pair{224, 224}, std::pair{31, 17}, std::pair{500, 700}, std::pair{img->width(), 9}}) {
      aug::simd_allowed() = true;
      const ImageU8 fast = aug::resize(*img, w, h);
      aug::simd_allowed() = false;
      const ImageU8 portable = aug::resize(*img, w, h);
      aug::simd_allowed() = true;
      EXPECT_EQ(fast, portable) << img->width() << "x" << img->height() << " -> " << w << "x" << h;
    }
  }
}

TEST(AugmentGeometry, RotateAgreesWithGetRotationMatrix2D) {
  const ImageU8& img = photo();
  const cv::Point2f centre((img.width() - 1) * 0.5f, (img.height() - 1) * 0.5f);
  for (aug::Fill fill : kFills) {
    for (double deg : {10.0, 30.0, 90.0, 150.0, -120.0}) {
      aug::WarpOptions o;
      o.fill = fill;
      cv::Mat theirs;
      cv::warpAffine(as_mat(img), theirs, cv::getRotationMatrix2D(centre, deg, 1.0), cv::Size(img.width(), img.height()),
                     cv::INTER_LINEAR, cv_border(fill));
      const Diff d = compare(aug::rotate(img, deg, o), theirs);
      EXPECT_LE(d.mean, 1.0) << deg;
      EXPECT_LE(d.max_interior, 8.0) << deg;
    }
  }
}

TEST(AugmentGeometry, TranslateAndZoomAgreeWithOpenCv) {
  const ImageU8& img = photo();
  const cv::Size size(img.width(), img.height());
  const cv::Point2f centre((img.width() - 1) * 0.5f, (img.height() - 1) * 0.5f);
  for (aug::Fill fill : kFills) {
    aug::WarpOptions o;
    o.fill = fill;
    for (auto [fx, fy] : {std::pair{0.1, -0.05}, std::pair{-0.25, 0.3}, std::pair{0.0, 0.1}}) {
      cv::Mat theirs;
      const cv::Mat fwd = (cv::Mat_<double>(2, 3) << 1, 0, fx * img.width(), 0, 1, fy * img.height());
      cv::warpAffine(as_mat(img), theirs, fwd, size, cv::INTER_LINEAR, cv_border(fill));
      const Diff d = compare(aug::translate(img, fx, fy, o), theirs);
      EXPECT_LE(d.mean, 1.0) << fx << "," << fy;
      EXPECT_LE(d.max_interior, 8.0) << fx << "," << fy;
    }
    // Keras RandomZoom: factor f scales the content by 1 / (1 + f) about the centre.
    for (double f : {-0.75, -0.3, 0.25, 0.75}) {
      cv::Mat theirs;
      cv::warpAffine(as_mat(img), theirs, cv::getRotationMatrix2D(centre, 0, 1.0 / (1.0 + f)), size, cv::INTER_LINEAR,
                     cv_border(fill));
      const Diff d = compare(aug::zoom(img, f, o), theirs);
      EXPECT_LE(d.mean, 1.0) << f;
      EXPECT_LE(d.max_interior, 8.0) << f;
    }
  }
}

TEST(AugmentGeometry, FloatWarpMatchesOpenCv) {
  const ImageU8& u8 = photo();
  ImageF32 img(u8.width(), u8.height(), 3);
  for (std::size_t i = 0; i < u8.size(); ++i) img.data()[i] = u8.data()[i] / 255.f;
  const aug::AffineMap m = aug::rotation_map(img.width(), img.height(), 33.0);
  cv::Mat theirs;
  cv::warpAffine(as_mat(img), theirs, inverse_map(m), cv::Size(img.width(), img.height()),
                 cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT);
  aug::WarpOptions o;
  o.fill = aug::Fill::reflect;
  EXPECT_LE(compare(aug::warp_affine(img, m, img.width(), img.height(), o), theirs).max, 1e-5);
}

TEST(AugmentGeometry, ResizeAgreesWithOpenCv) {
  const ImageU8& img = photo();
  struct Case {
    int w, h;
    aug::ResizeFilter filter;
    int cv_filter;
  };
  for (const Case& c : {Case{224, 224, aug::ResizeFilter::bilinear, cv::INTER_LINEAR},
                        Case{384, 288, aug::ResizeFilter::bilinear, cv::INTER_LINEAR},
                        Case{1000, 700, aug::ResizeFilter::bilinear, cv::INTER_LINEAR},
                        Case{256, 192, aug::ResizeFilter::area, cv::INTER_AREA},
                        Case{224, 168, aug::ResizeFilter::area, cv::INTER_AREA},
                        Case{100, 300, aug::ResizeFilter::area, cv::INTER_AREA},
                        Case{700, 500, aug::ResizeFilter::area, cv::INTER_AREA}}) {
    cv::Mat theirs;
    cv::resize(as_mat(img), theirs, cv::Size(c.w, c.h), 0, 0, c.cv_filter);
    const Diff d = compare(aug::resize(img, c.w, c.h, c.filter), theirs, 0);
    EXPECT_LE(d.mean, 1.0) << c.w << "x" << c.h;
    EXPECT_LE(d.max, 1.0) << c.w << "x" << c.h;  // OpenCV rounds some of its SIMD lanes differently
  }
}

TEST(AugmentPhotometric, GaussianBlurAgreesWithOpenCv) {
  const ImageU8& img = photo();
  for (double sigma : {0.8, 1.5, 3.0}) {
    cv::Mat theirs;
    cv::GaussianBlur(as_mat(img), theirs, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT_101);
    const Diff d = compare(aug::gaussian_blur(img, sigma), theirs, 0);
    EXPECT_LE(d.mean, 0.5) << sigma;
    EXPECT_LE(d.max, 1.0) << sigma;
  }
}

TEST(AugmentPhotometric, LightingFollowsItsDefinitions) {
  ImageU8 img(4, 1, 3);
  const std::uint8_t px[12] = {0, 0, 0, 100, 50, 200, 255, 255, 255, 10, 20, 30};
  std::copy(px, px + 12, img.data());
  const ImageU8 b = aug::adjust_brightness(img, 1.5);
  EXPECT_EQ(b(0, 1, 0), 150);
  EXPECT_EQ(b(0, 1, 2), 255);  // clamped
  EXPECT_EQ(aug::adjust_brightness(img, 1.0), img);
  EXPECT_EQ(aug::adjust_contrast(img, 1.0), img);
  EXPECT_EQ(aug::adjust_saturation(img, 1.0), img);
  const ImageU8 grey = aug::adjust_saturation(img, 0.0);
  // luma of (100, 50, 200) = 29.9 + 29.35 + 22.8 = 82.05
  EXPECT_EQ(grey(0, 1, 0), 82);
  EXPECT_EQ(grey(0, 1, 2), 82);
  const ImageU8 flat = aug::adjust_contrast(img, 0.0);
  EXPECT_EQ(flat(0, 0, 0), flat(0, 2, 2));
  const ImageU8 g = aug::adjust_gamma(img, 2.0);
  EXPECT_EQ(g(0, 1, 0), 39);  // 255 * (100/255)^2 = 39.2
  EXPECT_EQ(g(0, 2, 0), 255);
  aug::Glare glare;
  glare.strength = 1.0;
  const ImageU8 lit = aug::add_glare(photo(), glare);
  const int cx = (photo().width() - 1) / 2, cy = (photo().height() - 1) / 2;
  EXPECT_GE(lit(cy, cx, 0), 254);  // white at the centre
  EXPECT_EQ(lit(0, 0, 0), photo()(0, 0, 0));  // untouched far away
}

TEST(AugmentPhotometric, CutoutAndMotionBlur) {
  const ImageU8 c = aug::cutout(photo(), -10, 5, 30, 20, 128);
  EXPECT_EQ(c(5, 0, 0), 128);
  EXPECT_EQ(c(24, 19, 2), 128);
  EXPECT_EQ(c(25, 0, 0), photo()(25, 0, 0));
  EXPECT_EQ(c(5, 20, 0), photo()(5, 20, 0));
  EXPECT_EQ(aug::motion_blur(photo(), 1, 0), photo());  // a one-pixel line is the identity
  // A horizontal blur of a vertical edge spreads it along x only.
  ImageU8 edge(9, 3, 1);
  for (int y = 0; y < 3; ++y)
    for (int x = 5; x < 9; ++x) edge(y, x, 0) = 255;
  const ImageU8 m = aug::motion_blur(edge, 3, 0);
  EXPECT_EQ(m(1, 4, 0), 85);
  EXPECT_EQ(m(1, 5, 0), 170);
  EXPECT_EQ(m(0, 4, 0), m(2, 4, 0));
}

// ---- Determinism ----

aug::Pipeline<std::uint8_t> everything() {
  aug::Pipeline<std::uint8_t> p;
  aug::WarpOptions reflect;
  reflect.fill = aug::Fill::reflect;
  p.add(aug::random_flip<std::uint8_t>())
      .add(aug::random_rotation<std::uint8_t>(180, reflect), 0.9)
      .add(aug::random_translation<std::uint8_t>(0.1, 0.1), 0.5)
      .add(aug::random_zoom<std::uint8_t>(0.75), 0.7)
      .add(aug::random_brightness<std::uint8_t>(0.6, 1.4), 0.8)
      .add(aug::random_contrast<std::uint8_t>(0.7, 1.3), 0.8)
      .add(aug::random_saturation<std::uint8_t>(0.7, 1.3), 0.8)
      .add(aug::random_gamma<std::uint8_t>(0.7, 1.5), 0.5)
      .add(aug::random_glare<std::uint8_t>(0.3, 0.9), 0.5)
      .add(aug::random_gaussian_blur<std::uint8_t>(0.5, 2.0), 0.3)
      .add(aug::random_motion_blur<std::uint8_t>(9), 0.3)
      .add(aug::random_noise<std::uint8_t>(0.05), 0.5)
      .add(aug::random_cutout<std::uint8_t>(0.2), 0.3)
      .add(aug::random_resized_crop<std::uint8_t>(224, 224), 1.0);
  return p;
}

TEST(AugmentDeterminism, RngSequenceIsFixed) {
  // xoshiro256** seeded by splitmix64: integer arithmetic only, the same everywhere.
  aug::Rng a(42), b(42), c(43), s(42, 1);
  for (int i = 0; i < 100; ++i) {
    const auto v = a.next();
    EXPECT_EQ(v, b.next());
    EXPECT_NE(v, c.next());
    EXPECT_NE(v, s.next());
  }
  aug::Rng r(7);
  for (int i = 0; i < 1000; ++i) {
    const double u = r.uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
    const auto k = r.integer(-3, 3);
    EXPECT_GE(k, -3);
    EXPECT_LE(k, 3);
  }
}

TEST(AugmentDeterminism, SameSeedSameBitsOnEveryRunAndThreadCount) {
  const auto p = everything();
  std::vector<ImageU8> batch;
  for (int i = 0; i < 6; ++i) batch.push_back(aug::resize(photo(), 256 + 8 * i, 192));
  const auto one = aug::apply_batch(p, batch, 1234, 1);
  for (unsigned threads : {1u, 2u, 4u}) {
    const auto again = aug::apply_batch(p, batch, 1234, threads);
    ASSERT_EQ(again.size(), one.size());
    for (std::size_t i = 0; i < one.size(); ++i) EXPECT_EQ(again[i], one[i]) << "image " << i << ", " << threads << " threads";
  }
  for (std::size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(p(batch[i], 1234, i), one[i]);
  const auto other = aug::apply_batch(p, batch, 1235, 2);
  int differ = 0;
  for (std::size_t i = 0; i < one.size(); ++i) differ += other[i] != one[i];
  EXPECT_EQ(differ, 6);
}

// ---- Bad parameters ----

template <class F>
void expect_argument_error(F&& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
  } catch (const wastenet::ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(AugmentErrors, NonsensicalParametersAreRefused) {
  const ImageU8& img = photo();
  expect_argument_error([&] { aug::crop(img, -1, 0, 10, 10); }, "crop: region");
  expect_argument_error([&] { aug::crop(img, 500, 0, 20, 10); }, "not inside");
  expect_argument_error([&] { aug::center_crop(img, 0, 10); }, "center_crop");
  expect_argument_error([&] { aug::resize(img, -4, 10); }, "resize: size");
  expect_argument_error([&] { aug::rotate(img, std::nan("")); }, "rotate: the angle");
  expect_argument_error([&] { aug::translate(img, 1.5, 0); }, "translate: fractions");
  expect_argument_error([&] { aug::zoom(img, -1.0); }, "zoom: factors");
  expect_argument_error([&] { aug::adjust_brightness(img, -0.5); }, "adjust_brightness: factor");
  expect_argument_error([&] { aug::adjust_gamma(img, 0.0); }, "adjust_gamma: gamma");
  expect_argument_error([&] { aug::adjust_saturation(ImageU8(4, 4, 1), 1.0); }, "needs an RGB image");
  aug::Glare g;
  g.rx = -0.1;
  expect_argument_error([&] { aug::add_glare(img, g); }, "add_glare: radii");
  g.rx = 0.1;
  g.strength = 2;
  expect_argument_error([&] { aug::add_glare(img, g); }, "add_glare: strength");
  expect_argument_error([&] { aug::gaussian_blur(img, 0.0); }, "gaussian_blur: sigma");
  expect_argument_error([&] { aug::motion_blur(img, 0, 0); }, "motion_blur: length");
  aug::Rng rng(1);
  expect_argument_error([&] { aug::add_gaussian_noise(img, -1.0, rng); }, "add_gaussian_noise: sigma");
  expect_argument_error([&] { aug::cutout(img, 0, 0, -5, 5); }, "cutout: size");
  expect_argument_error([&] { aug::random_resized_crop(img, 10, 10, rng, {0.5, 0.2}); }, "random_resized_crop: scale");
  expect_argument_error([&] { aug::warp_affine(img, aug::AffineMap{}, 0, 5); }, "warp_affine: output size");
  expect_argument_error([&] { aug::warp_affine(ImageU8{}, aug::AffineMap{}, 5, 5); }, "the image is empty");
  aug::Pipeline<std::uint8_t> p;
  expect_argument_error([&] { p.add(aug::random_flip<std::uint8_t>(), 1.5); }, "probability of 'flip'");
  expect_argument_error([&] { aug::random_rotation<std::uint8_t>(-5); }, "random_rotation");
  expect_argument_error([&] { aug::random_zoom<std::uint8_t>(1.0); }, "random_zoom: factor");
  expect_argument_error([&] { aug::random_brightness<std::uint8_t>(1.2, 0.8); }, "random_brightness");
  expect_argument_error([&] { aug::random_noise<std::uint8_t>(2.0); }, "random_noise");
}

}  // namespace
