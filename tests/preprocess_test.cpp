// Preprocessing reproduces PIL/torchvision byte for byte.
#include <gtest/gtest.h>

#include <string>

#include "test_util.hpp"
#include "wastenet/io/image.hpp"
#include "wastenet/preprocess.hpp"

namespace {

TEST(ResizeLikePil, MatchesPillowBilinearExactly) {
  const auto src = wastenet::read_image(wastenet::test::ref_dir() + "/resize_src.png");
  ASSERT_EQ(src.width(), 83);
  ASSERT_EQ(src.height(), 97);
  for (auto [w, h] : {std::pair{40, 31}, {200, 150}, {83, 50}, {30, 97}, {224, 224}}) {
    SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h));
    const auto ref = wastenet::test::read_bytes(wastenet::test::ref_dir() + "/resize_" + std::to_string(w) + "x" +
                                                std::to_string(h) + ".bin");
    const auto got = wastenet::resize_like_pil(src, w, h);
    ASSERT_EQ(got.size(), ref.size());
    EXPECT_TRUE(std::equal(ref.begin(), ref.end(), got.data()));
  }
}

TEST(ResizeLikePil, SameSizeIsUntouched) {
  wastenet::ImageU8 img(5, 4, 3);
  for (std::size_t i = 0; i < img.size(); ++i) img.data()[i] = static_cast<std::uint8_t>(i * 7);
  EXPECT_EQ(wastenet::resize_like_pil(img, 5, 4), img);
}

TEST(CenterCrop, RoundsLikeTorchvision) {
  wastenet::ImageU8 img(7, 6, 1);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 7; ++x) img(y, x, 0) = static_cast<std::uint8_t>(10 * y + x);
  const auto c = wastenet::center_crop(img, 4, 3);  // left = round(1.5) = 2, top = round(1.5) = 2
  EXPECT_EQ(c(0, 0, 0), 22);
  EXPECT_EQ(c(2, 3, 0), 45);
}

TEST(ImageToTensor, NormalizesLikeToTensorThenNormalize) {
  wastenet::ImageU8 img(1, 1, 3);
  img(0, 0, 0) = 255;
  img(0, 0, 1) = 0;
  img(0, 0, 2) = 128;
  wastenet::Tensor<float> t(wastenet::Shape4{1, 1, 1, 3});
  wastenet::image_to_tensor(img, {}, t, 0);
  EXPECT_FLOAT_EQ(t.data()[0], (1.0f - 0.485f) / 0.229f);
  EXPECT_FLOAT_EQ(t.data()[1], (0.0f - 0.456f) / 0.224f);
  EXPECT_FLOAT_EQ(t.data()[2], (128.0f / 255.0f - 0.406f) / 0.225f);
}

}  // namespace
