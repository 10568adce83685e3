// One loaded model shared by many threads: every thread's logits equal, bit for bit, those of the
// same image classified alone on one thread. (Also run under ThreadSanitizer: scripts/sanitize.sh.)
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "wastenet/classifier.hpp"

namespace {

wastenet::ImageU8 random_image(int h, int w, std::uint32_t seed) {
  wastenet::ImageU8 img(w, h, 3);
  std::mt19937 rng(seed);
  // Smooth gradients plus noise: something a network responds to, different per seed.
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img(y, x, c) = static_cast<std::uint8_t>((x * (c + 1) * 255 / w + y * (3 - c) * 255 / h + rng() % 64) % 256);
  return img;
}

// The reference: each image classified alone, on a one-thread model.
std::vector<std::vector<float>> single_image_logits(const std::string& model, wastenet::Precision precision,
                                                    const std::vector<wastenet::ImageU8>& images) {
  wastenet::ClassifierOptions opts;
  opts.threads = 1;
  opts.precision = precision;
  const wastenet::Classifier serial(model, opts);
  std::vector<std::vector<float>> logits;
  for (const auto& img : images) logits.push_back(serial.classify(img).logits);
  return logits;
}

// `got` holds the same floats as `want`, bit for bit.
void expect_same_bits(const float* got, const std::vector<float>& want, const std::string& what) {
  EXPECT_EQ(std::memcmp(got, want.data(), want.size() * sizeof(float)), 0) << what;
}

void expect_shared_model_matches_serial(const std::string& model, std::size_t pool_threads,
                                        wastenet::Precision precision = wastenet::Precision::fp32) {
  constexpr int callers = 8, images_per_caller = 3;
  std::vector<wastenet::ImageU8> images;
  for (int i = 0; i < callers * images_per_caller; ++i) images.push_back(random_image(120 + 7 * i, 200 - 3 * i, 100u + i));

  const auto expected = single_image_logits(model, precision, images);

  wastenet::ClassifierOptions shared_opts;
  shared_opts.threads = pool_threads;
  shared_opts.precision = precision;
  const wastenet::Classifier shared(model, shared_opts);
  std::vector<std::vector<float>> got(images.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < images_per_caller; ++k) {
        const std::size_t i = static_cast<std::size_t>(t * images_per_caller + k);
        got[i] = shared.classify(images[i]).logits;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (std::size_t i = 0; i < images.size(); ++i) {
    ASSERT_EQ(got[i].size(), expected[i].size());
    expect_same_bits(got[i].data(), expected[i], "image " + std::to_string(i) + " differs from the single-threaded result");
  }
}

TEST(SharedModel, EightCallersOnOnePoolThreadMatchSerialBitForBit) {
  expect_shared_model_matches_serial(wastenet::test::ref_dir() + "/efficientnet_b0_224.safetensors", 1);
}

TEST(SharedModel, EightCallersOnATwoThreadPoolMatchSerialBitForBit) {
  expect_shared_model_matches_serial(wastenet::test::ref_dir() + "/mobilenet_v3_small_224.safetensors", 2);
}

TEST(SharedModel, EightCallersOnAFourThreadPoolMatchSerialBitForBit) {
  expect_shared_model_matches_serial(wastenet::test::ref_dir() + "/mobilenet_v2_224.safetensors", 4);
}

// FP16: per-thread conversion scratch in the banded, 1x1 and squeeze-and-excitation paths.
TEST(SharedModel, Fp16EightCallersOnATwoThreadPoolMatchSerialBitForBit) {
  expect_shared_model_matches_serial(wastenet::test::ref_dir() + "/efficientnet_b0_224.safetensors", 2,
                                     wastenet::Precision::fp16);
}

TEST(SharedModel, Fp16EightCallersOnAFourThreadPoolMatchSerialBitForBit) {
  expect_shared_model_matches_serial(wastenet::test::ref_dir() + "/mobilenet_v3_small_224.safetensors", 4,
                                     wastenet::Precision::fp16);
}

// A batch runs image by image, each thread taking whole images: every row of a batch equals its
// image classified alone on one thread, for any thread count, and NCHW input gives the same rows.
void expect_batch_rows_match_single_images(const std::string& model, wastenet::Precision precision) {
  std::vector<wastenet::ImageU8> images;
  for (int i = 0; i < 7; ++i) images.push_back(random_image(150 + 11 * i, 170 - 5 * i, 300u + i));
  const auto expected = single_image_logits(model, precision, images);
  wastenet::ClassifierOptions opts;
  opts.precision = precision;
  for (std::size_t threads : {1, 2, 3}) {
    opts.threads = threads;
    const wastenet::Classifier batched(model, opts);
    const auto preds = batched.classify(images);
    ASSERT_EQ(preds.size(), images.size());
    const auto nchw = batched.logits(batched.preprocess(images).to_layout(wastenet::Layout::nchw));
    ASSERT_EQ(nchw.shape().n, images.size());
    for (std::size_t i = 0; i < images.size(); ++i) {
      const std::string where = "image " + std::to_string(i) + " of the ";
      const std::string threads_text = ", " + std::to_string(threads) + " threads";
      ASSERT_EQ(preds[i].logits.size(), expected[i].size());
      expect_same_bits(preds[i].logits.data(), expected[i], where + "batch" + threads_text);
      expect_same_bits(nchw.data() + i * expected[i].size(), expected[i], where + "NCHW batch" + threads_text);
    }
  }
}

TEST(BatchedModel, RowsEqualSingleImagesForAnyThreadCount) {
  expect_batch_rows_match_single_images(wastenet::test::ref_dir() + "/efficientnet_b0_224.safetensors",
                                        wastenet::Precision::fp32);
}

TEST(BatchedModel, Fp16RowsEqualSingleImagesForAnyThreadCount) {
  expect_batch_rows_match_single_images(wastenet::test::ref_dir() + "/mobilenet_v3_small_224.safetensors",
                                        wastenet::Precision::fp16);
}

// One image on one caller: every layer splits its work among the pool's threads. Reductions (the
// squeeze-and-excitation mean) sum in an order fixed by the data, so the bits do not depend on
// how many threads share the work.
void expect_single_image_same_for_any_thread_count(const std::string& model, wastenet::Precision precision) {
  const std::vector<wastenet::ImageU8> images = {random_image(224, 224, 7u), random_image(131, 257, 8u)};
  const auto expected = single_image_logits(model, precision, images);
  wastenet::ClassifierOptions opts;
  opts.precision = precision;
  for (std::size_t threads : {2, 3, 4}) {
    opts.threads = threads;
    const wastenet::Classifier parallel(model, opts);
    for (std::size_t i = 0; i < images.size(); ++i) {
      const auto got = parallel.classify(images[i]).logits;
      ASSERT_EQ(got.size(), expected[i].size());
      expect_same_bits(got.data(), expected[i], "image " + std::to_string(i) + ", " + std::to_string(threads) + " threads");
    }
  }
}

TEST(SingleImage, LogitsAreTheSameForAnyThreadCount) {
  expect_single_image_same_for_any_thread_count(wastenet::test::ref_dir() + "/efficientnet_b0_224.safetensors",
                                                wastenet::Precision::fp32);
}

TEST(SingleImage, Fp16LogitsAreTheSameForAnyThreadCount) {
  expect_single_image_same_for_any_thread_count(wastenet::test::ref_dir() + "/mobilenet_v3_small_224.safetensors",
                                                wastenet::Precision::fp16);
}

}  // namespace
