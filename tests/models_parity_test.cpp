// Parity with torchvision 0.14: every architecture, at its default resolution and at 75%,
// on seeded random weights with randomized batch-norm statistics (tools/make_reference.py).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "wastenet/classifier.hpp"
#include "wastenet/models/model.hpp"

namespace {

using wastenet::test::ref_dir;

constexpr float tolerance = 1e-3f;  // max |logit difference|, logits of unit scale

// The cases tools/make_reference.py writes (its cases.txt must list exactly these): every
// architecture at torchvision's default resolution and at 75% of it.
const std::vector<std::string>& parity_cases() {
  static const std::vector<std::string> cases = {
      "mobilenet_v2_224",       "mobilenet_v2_168",       "mobilenet_v3_small_224", "mobilenet_v3_small_168",
      "mobilenet_v3_large_224", "mobilenet_v3_large_168", "efficientnet_b0_224",    "efficientnet_b0_168",
      "efficientnet_b1_240",    "efficientnet_b1_176",    "efficientnet_b2_260",    "efficientnet_b2_192",
      "efficientnet_b3_300",    "efficientnet_b3_224",    "efficientnet_b4_380",    "efficientnet_b4_288",
      "efficientnet_b5_456",    "efficientnet_b5_344",    "efficientnet_b6_528",    "efficientnet_b6_400",
      "efficientnet_b7_600",    "efficientnet_b7_448"};
  return cases;
}

TEST(ReferenceCases, ListMatchesTheTool) {
  EXPECT_EQ(wastenet::test::read_lines(ref_dir() + "/cases.txt"), parity_cases());
}

class ModelParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelParity, LogitsMatchTorchvision) {
  const std::string base = ref_dir() + "/" + GetParam();
  ASSERT_TRUE(wastenet::test::exists(base + ".json")) << "reference missing: " << base << ".json";
  const auto meta = nlohmann::json::parse(wastenet::test::read_bytes(base + ".json"));
  const std::size_t size = meta["size"];

  wastenet::Model model = wastenet::load_model(base + ".safetensors");
  EXPECT_EQ(model.info.arch, meta["arch"].get<std::string>());
  EXPECT_EQ(model.info.num_classes, meta["classes"].get<std::size_t>());

  wastenet::Tensor<float> input(wastenet::Shape4{1, size, size, 3});
  const auto in = wastenet::test::read_floats(base + ".input.bin");
  ASSERT_EQ(in.size(), input.size());
  std::copy(in.begin(), in.end(), input.data());

  wastenet::ThreadPool pool(2);
  wastenet::Network::Workspace ws;
  const auto out = model.network.forward(input, ws, pool);
  const auto ref = wastenet::test::read_floats(base + ".logits.bin");
  ASSERT_EQ(out.size(), ref.size());
  const double max_diff = wastenet::test::max_abs_diff(out.data(), ref.data(), ref.size());
  std::size_t top1 = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    if (out.data()[i] > out.data()[top1]) top1 = i;
  }
  EXPECT_LE(max_diff, tolerance);
  EXPECT_EQ(top1, meta["top1"].get<std::size_t>());
}

// The same model through the image path (PNG decode + fit + normalize), as wastenet-classify runs it.
TEST_P(ModelParity, ClassifierOnImageMatchesTorchvision) {
  const std::string base = ref_dir() + "/" + GetParam();
  ASSERT_TRUE(wastenet::test::exists(base + ".png"));
  wastenet::Classifier clf(base + ".safetensors", {"", 2, "fit"});
  const auto pred = clf.classify(wastenet::read_image(base + ".png"));
  const auto ref = wastenet::test::read_floats(base + ".logits.bin");
  ASSERT_EQ(pred.logits.size(), ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(pred.logits[i], ref[i], tolerance) << "logit " << i;
}

// ClassifierOptions::input_size overrides the size a model's metadata gives: the 168 px case's
// weights, in a model whose metadata says 224, classified at 168 match torchvision at 168.
TEST(ClassifierInputSize, OverridesTheModelsSize) {
  const std::string base = ref_dir() + "/mobilenet_v3_small_168";
  const auto image = wastenet::read_image(base + ".png");
  const auto ref = wastenet::test::read_floats(base + ".logits.bin");
  auto model = [&] {  // as if its metadata said 224
    wastenet::Model m = wastenet::load_model(base + ".safetensors");
    m.info.input_size = 224;
    return m;
  };

  wastenet::ClassifierOptions at_224{"", 2, "fit"};
  const wastenet::Classifier as_stored(model(), at_224);
  const auto stored = as_stored.classify(image);
  ASSERT_EQ(stored.logits.size(), ref.size());
  // At 224 the logits are another image's: the check below can fail.
  EXPECT_GT(wastenet::test::max_abs_diff(stored.logits.data(), ref.data(), ref.size()), 100 * tolerance);

  wastenet::ClassifierOptions at_168 = at_224;
  at_168.input_size = 168;
  const wastenet::Classifier overridden(model(), at_168);
  EXPECT_EQ(overridden.info().input_size, 168u);
  EXPECT_EQ(overridden.preprocess({image}).shape().h, 168u);
  const auto pred = overridden.classify(image);
  ASSERT_EQ(pred.logits.size(), ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(pred.logits[i], ref[i], tolerance) << "logit " << i;
}

TEST(ClassifierInputSize, RejectsSizesOutsideTheArchitecturesRange) {
  const std::string path = ref_dir() + "/mobilenet_v3_small_168.safetensors";
  for (std::size_t size : {std::size_t{31}, std::size_t{449}}) {
    wastenet::ClassifierOptions opts{"", 1, ""};
    opts.input_size = size;
    try {
      wastenet::Classifier clf(path, opts);
      ADD_FAILURE() << "input size " << size << " was accepted";
    } catch (const wastenet::ArgumentError& e) {
      EXPECT_EQ(std::string(e.what()), "input size must be from 32 to 448 for mobilenet_v3_small, got " + std::to_string(size));
    }
  }
  wastenet::ClassifierOptions largest{"", 1, ""};
  largest.input_size = 448;
  EXPECT_EQ(wastenet::Classifier(path, largest).info().input_size, 448u);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, ModelParity, ::testing::ValuesIn(parity_cases()),
                         [](const auto& info) { return info.param; });

// Real trained weights: ImageNet MobileNetV2 on two photos, ImageNet's evaluation transform.
TEST(ImageNetMobileNetV2, Top5MatchesTorchvision) {
  const std::string weights = wastenet::test::shared_dir() + "/models/mobilenet_v2_imagenet.safetensors";
  if (!wastenet::test::exists(weights)) GTEST_SKIP() << "../shared is absent: " << weights;
  const auto ref = nlohmann::json::parse(wastenet::test::read_bytes(ref_dir() + "/imagenet_mobilenet_v2.json"));
  wastenet::Classifier clf(weights, {"", 2, "crop"});
  for (const char* name : {"cat", "bird"}) {
    SCOPED_TRACE(name);
    const auto pred = clf.classify(wastenet::read_image(wastenet::test::shared_dir() + "/data/imagenet-samples/" + name + ".bmp"));
    const auto top = pred.top(5);
    for (std::size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(top[i], ref[name]["classes"][i].get<std::size_t>());
      EXPECT_NEAR(pred.probabilities[top[i]], ref[name]["probabilities"][i].get<float>(), 1e-3f);
    }
  }
}

}  // namespace
