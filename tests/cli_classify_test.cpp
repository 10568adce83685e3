// wastenet-classify as a user runs it: exit status, one-line errors, logits output.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "test_util.hpp"

namespace {

using Result = wastenet::test::CommandResult;

Result run(const std::string& args) { return wastenet::test::run_command(WASTENET_CLASSIFY, args, "cli"); }

void expect_one_line_error(const std::string& args, const std::string& fragment) {
  SCOPED_TRACE(args);
  const Result r = run(args);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
  EXPECT_EQ(r.err.rfind("wastenet-classify: ", 0), 0u) << r.err;
}

const std::string model = wastenet::test::ref_dir() + "/mobilenet_v3_small_168.safetensors";
const std::string image = wastenet::test::ref_dir() + "/mobilenet_v3_small_168.png";
const std::string torchvision_logits = wastenet::test::ref_dir() + "/mobilenet_v3_small_168.logits.bin";

// The logits a run wrote to `out`, each within 1e-3 of torchvision's for `image`.
void expect_torchvision_logits(const std::string& out) {
  const auto got = wastenet::test::read_floats(out);
  const auto ref = wastenet::test::read_floats(torchvision_logits);
  ASSERT_EQ(got.size(), ref.size());
  for (std::size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(got[i], ref[i], 1e-3f);
}

TEST(ClassifyCli, LogitsOutMatchesTorchvision) {
  const std::string out = std::string(WASTENET_TEST_DATA) + "/cli_logits.bin";
  const Result r = run("--model " + model + " " + image + " --logits-out " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  expect_torchvision_logits(out);
}

// --precision fp16: the same logits within the FP16 tolerance of the parity tests (this case's
// torchvision deviation under binary16 storage is far below it), the same top-1.
TEST(ClassifyCli, Fp16LogitsStayCloseToTorchvision) {
  const std::string out = std::string(WASTENET_TEST_DATA) + "/cli_logits_fp16.bin";
  const Result r = run("--model " + model + " --precision fp16 " + image + " --logits-out " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto got = wastenet::test::read_floats(out);
  const auto ref = wastenet::test::read_floats(torchvision_logits);
  ASSERT_EQ(got.size(), ref.size());
  std::size_t top_got = 0, top_ref = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    EXPECT_NEAR(got[i], ref[i], 2e-2f) << "logit " << i;
    if (got[i] > got[top_got]) top_got = i;
    if (ref[i] > ref[top_ref]) top_ref = i;
  }
  EXPECT_EQ(top_got, top_ref);
}

TEST(ClassifyCli, JsonOutput) {
  const Result r = run("--model " + model + " --json --topk 2 " + image);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"arch\": \"mobilenet_v3_small\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"probability\""), std::string::npos);
}

// The 168 px case's model at --input-size 168 (its own size) matches torchvision, and at 224 it
// reports 224 and gives other logits.
TEST(ClassifyCli, InputSizeOption) {
  const std::string out = std::string(WASTENET_TEST_DATA) + "/cli_logits_input_size.bin";
  Result r = run("--model " + model + " --input-size 168 " + image + " --logits-out " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  expect_torchvision_logits(out);
  r = run("--model " + model + " --input-size 224 --json " + image + " --logits-out " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"input_size\": 224"), std::string::npos) << r.out;
  const auto got = wastenet::test::read_floats(out);
  const auto ref = wastenet::test::read_floats(torchvision_logits);
  ASSERT_EQ(got.size(), ref.size());
  EXPECT_GT(wastenet::test::max_abs_diff(got.data(), ref.data(), ref.size()), 0.1);
}

TEST(ClassifyCli, BadArguments) {
  expect_one_line_error("--model " + model + " --threads -1 " + image, "--threads");
  expect_one_line_error("--model " + model + " --threads 100000 " + image, "--threads");
  expect_one_line_error("--model " + model + " --topk 0 " + image, "--topk");
  expect_one_line_error("--model " + model + " --input-size 16 " + image, "--input-size must be an integer from 32");
  expect_one_line_error("--model " + model + " --input-size 449 " + image, "input size must be from 32 to 448 for mobilenet_v3_small, got 449");
  expect_one_line_error("--model " + model + " --topk abc " + image, "--topk");
  expect_one_line_error("--model " + model + " --resize squash " + image, "resize mode 'squash'");
  expect_one_line_error("--model " + model + " --frobnicate " + image, "unknown option --frobnicate");
  expect_one_line_error("--model " + model + " --precision fp64 " + image, "precision must be 'fp32' or 'fp16', got 'fp64'");
  expect_one_line_error("--model " + model, "no image");
  expect_one_line_error("--model " + model + " --arch resnet50 " + image, "resnet50");
  expect_one_line_error("--model /nonexistent/model.safetensors " + image, "/nonexistent/model.safetensors");
  expect_one_line_error("--model " + model + " /nonexistent/image.png", "/nonexistent/image.png");
  expect_one_line_error("--model " + image + " " + image, image);  // a PNG is not a safetensors file
}

}  // namespace
