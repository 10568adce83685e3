// Fused steps (Layer::fuses_with): a 1x1 expansion and the depthwise convolution after it, run as
// one pass over bands of rows where the expanded tensor would not fit in L2 (Conv2d), and the 1x1
// projection after them where it directly follows (Layer::fuses_third). They must give the bits of
// the same steps run one by one, on any thread count, in FP32 and FP16; and the network must not
// fuse a step whose output a later step still reads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "test_util.hpp"
#include "wastenet/classifier.hpp"
#include "wastenet/nn/conv.hpp"

namespace {

struct Result {
  std::vector<float> logits;
  std::size_t pairs = 0;    // steps run in one pass with the next one
  std::size_t triples = 0;  // steps run in one pass with the next two
};

Result run(const wastenet::Network& net, const wastenet::Tensor<float>& x, bool fusion, std::size_t threads) {
  wastenet::Network::Workspace ws;
  ws.fusion = fusion;
  wastenet::ThreadPool pool(threads);
  const wastenet::Tensor<float> out = net.forward(x, ws, pool);
  Result r;
  r.logits.assign(out.data(), out.data() + out.size());
  r.pairs = static_cast<std::size_t>(std::count(ws.fused.begin(), ws.fused.end(), 1));
  r.triples = static_cast<std::size_t>(std::count(ws.fused.begin(), ws.fused.end(), 2));
  return r;
}

wastenet::Tensor<float> random_input(std::size_t h, std::size_t w, std::size_t c, std::uint32_t seed) {
  wastenet::Tensor<float> x(wastenet::Shape4{1, h, w, c});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = u(rng);
  return x;
}

// The best path fuses: AVX-512 or AVX2 (f16c).
bool fusing_path_available() {
  return wastenet::kernel_path_supported(wastenet::KernelPath::avx512) ||
         wastenet::kernel_path_supported(wastenet::KernelPath::f16c);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The model at `size` fuses `expect_pairs` step pairs and `expect_triples` triples, and on 1, 2
// and 3 threads its logits equal those of the unfused network on one thread.
void expect_fused_same_bits(const std::string& model, wastenet::Precision precision, std::size_t h, std::size_t w,
                            std::size_t expect_pairs, std::size_t expect_triples) {
  if (!fusing_path_available()) GTEST_SKIP() << "fusion runs on the AVX-512 and AVX2 kernels only; this CPU has neither";
  wastenet::ClassifierOptions opts;
  opts.precision = precision;
  const wastenet::Classifier clf(model, opts);
  const auto x = random_input(h, w, 3, 11u);
  const Result unfused = run(clf.network(), x, false, 1);
  EXPECT_EQ(unfused.pairs + unfused.triples, 0u);
  for (std::size_t threads : {1, 2, 3}) {
    const Result fused = run(clf.network(), x, true, threads);
    EXPECT_EQ(fused.pairs, expect_pairs) << threads << " threads";
    EXPECT_EQ(fused.triples, expect_triples) << threads << " threads";
    EXPECT_TRUE(same_bits(fused.logits, unfused.logits)) << threads << " threads: fused logits differ from unfused";
  }
}

struct ModelCase {
  const char* name;  // the test's name
  const char* model;
  wastenet::Precision precision;
  std::size_t h, w;
  std::size_t expect_pairs, expect_triples;
};

// efficientnet_b0 and mobilenet_v2 at 224: the stem's output (112x112x32) and three expansions
// (112x112x96 and twice 56x56x144; 28x28x240 is not) are larger than 1 MiB, each followed by a
// depthwise layer. In mobilenet_v2 a projection follows each of the four depthwise layers (the
// last two with and without a residual); in efficientnet_b0 squeeze-and-excitation comes first.
// Odd sizes: bands and thread ranges end on rows where stride 2 and the padding meet unevenly (the
// stem's output is 66x129x32, just above 1 MiB). mobilenet_v3_small's stem output (112x112x16)
// and largest expansion (56x56x72) at 224 stay below 1 MiB; at 320 both exceed it, and the
// expansion's block projects without squeeze-and-excitation.
const ModelCase model_cases[] = {
    {"EfficientNetB0", "efficientnet_b0", wastenet::Precision::fp32, 224, 224, 4, 0},
    {"Fp16EfficientNetB0", "efficientnet_b0", wastenet::Precision::fp16, 224, 224, 4, 0},
    {"EfficientNetB0OddSize", "efficientnet_b0", wastenet::Precision::fp32, 131, 257, 4, 0},
    {"Fp16EfficientNetB0OddSize", "efficientnet_b0", wastenet::Precision::fp16, 131, 257, 4, 0},
    {"MobileNetV2", "mobilenet_v2", wastenet::Precision::fp32, 224, 224, 0, 4},
    {"Fp16MobileNetV2", "mobilenet_v2", wastenet::Precision::fp16, 224, 224, 0, 4},
    {"MobileNetV2OddSize", "mobilenet_v2", wastenet::Precision::fp32, 131, 257, 0, 4},
    {"Fp16MobileNetV2OddSize", "mobilenet_v2", wastenet::Precision::fp16, 131, 257, 0, 4},
    {"MobileNetV3SmallBelowTheThreshold", "mobilenet_v3_small", wastenet::Precision::fp32, 224, 224, 0, 0},
    {"MobileNetV3Small320", "mobilenet_v3_small", wastenet::Precision::fp32, 320, 320, 1, 1},
    {"Fp16MobileNetV3Small320", "mobilenet_v3_small", wastenet::Precision::fp16, 320, 320, 1, 1},
};

class FusedModel : public ::testing::TestWithParam<ModelCase> {};

TEST_P(FusedModel, FusesTheExpectedStepsWithTheSameBits) {
  const ModelCase& c = GetParam();
  expect_fused_same_bits(wastenet::test::ref_dir() + "/" + c.model + "_224.safetensors", c.precision, c.h, c.w,
                         c.expect_pairs, c.expect_triples);
}

INSTANTIATE_TEST_SUITE_P(Fusion, FusedModel, ::testing::ValuesIn(model_cases),
                         [](const ::testing::TestParamInfo<ModelCase>& info) { return std::string(info.param.name); });

// A hand-built block: expansion 8 -> 64 at 72x72 (1.3 MiB), then a depthwise 3x3.
std::unique_ptr<wastenet::Conv2d> random_conv(std::size_t cin, std::size_t cout, std::size_t k, std::size_t groups,
                                              std::uint32_t seed) {
  wastenet::ConvParams p;
  p.in_channels = cin;
  p.out_channels = cout;
  p.kernel_h = p.kernel_w = k;
  p.pad_h = p.pad_w = k / 2;
  p.groups = groups;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<float> weight(cout * (cin / groups) * k * k), bias(cout);
  for (float& v : weight) v = u(rng);
  for (float& v : bias) v = u(rng);
  return std::make_unique<wastenet::Conv2d>(p, weight, bias, nullptr, wastenet::Activation{wastenet::ActKind::relu6});
}

enum class BlockCase {
  fusable,
  expansion_read_later,
  depthwise_over_input,
  projected,
  depthwise_read_later,
  projection_over_input
};

wastenet::Network hand_built_block(BlockCase c) {
  wastenet::Network net;
  const int in = wastenet::Network::input_slot;
  const int e = net.add(random_conv(8, 64, 1, 1, 1u), in);
  if (c == BlockCase::depthwise_over_input) {
    EXPECT_EQ(net.add(random_conv(64, 64, 3, 64, 2u), e), in);  // the input's buffer is free again
    return net;
  }
  const int d = net.add(random_conv(64, 64, 3, 64, 2u), e, -1, {in});
  switch (c) {
    case BlockCase::expansion_read_later:  // a projection whose residual is the expansion's output
      net.add(random_conv(64, 64, 1, 1, 3u), d, e);
      break;
    case BlockCase::projected:  // MobileNetV2's block: the projection adds the block's input
      net.add(random_conv(64, 8, 1, 1, 3u), d, in);
      break;
    case BlockCase::depthwise_read_later: {  // a step after the projection reads the depthwise output
      const int p = net.add(random_conv(64, 64, 1, 1, 3u), d, -1, {in});
      net.add(random_conv(64, 64, 1, 1, 4u), p, d);
      break;
    }
    case BlockCase::projection_over_input:
      EXPECT_EQ(net.add(random_conv(64, 8, 1, 1, 3u), d), in);  // the input's buffer is free again
      break;
    default:
      break;
  }
  return net;
}

// {pairs, triples} the network fuses on 2 threads, with the bits of the unfused network.
std::pair<std::size_t, std::size_t> fused_steps_with_same_bits(BlockCase c) {
  const wastenet::Network net = hand_built_block(c);
  const auto x = random_input(72, 72, 8, 5u);
  const Result planned = run(net, x, true, 2), unfused = run(net, x, false, 1);
  EXPECT_TRUE(same_bits(planned.logits, unfused.logits));
  return {planned.pairs, planned.triples};
}

using Counts = std::pair<std::size_t, std::size_t>;

TEST(Fusion, OnlyWhereTheBuffersAllowIt) {
  if (!fusing_path_available()) GTEST_SKIP() << "fusion runs on the AVX-512 and AVX2 kernels only; this CPU has neither";
  EXPECT_EQ(fused_steps_with_same_bits(BlockCase::fusable), Counts(1, 0));
  // Not fused: the pass never writes the expansion's output, which the projection reads.
  EXPECT_EQ(fused_steps_with_same_bits(BlockCase::expansion_read_later), Counts(0, 0));
  // Not fused: the depthwise output would overwrite input rows the pass has still to expand.
  EXPECT_EQ(fused_steps_with_same_bits(BlockCase::depthwise_over_input), Counts(0, 0));
  // All three: the projection's residual is the pass's input, read where it is written.
  EXPECT_EQ(fused_steps_with_same_bits(BlockCase::projected), Counts(0, 1));
  // Only the pair: the pass of three never writes the depthwise output, which a later step reads.
  EXPECT_EQ(fused_steps_with_same_bits(BlockCase::depthwise_read_later), Counts(1, 0));
  // Only the pair: the projection would overwrite input rows the pass has still to expand.
  EXPECT_EQ(fused_steps_with_same_bits(BlockCase::projection_over_input), Counts(1, 0));
}

}  // namespace
