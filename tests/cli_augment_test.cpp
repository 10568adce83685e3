// wastenet-robustness and wastenet-augment-preview as a user runs them, on the sample images with
// the bundled model: the clean row is the recorded accuracy, the report is the same for the same
// seed whatever the worker count, and the preview grid has one row per operation.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "wastenet/io/image.hpp"

namespace {

using Result = wastenet::test::CommandResult;

const std::string data = WASTENET_TEST_DATA;
const std::string samples = wastenet::test::source_dir() + "/examples/images/";
const std::string model = wastenet::test::source_dir() + "/models/wastenet_trashnet_mobilenet_v2.safetensors";
const char* const files[] = {"cardboard31.jpg", "cardboard334.jpg", "glass12.jpg",    "glass373.jpg",
                             "metal159.jpg",    "metal18.jpg",      "paper380.jpg",   "paper70.jpg",
                             "plastic103.jpg",  "plastic125.jpg",   "trash136.jpg",   "trash44.jpg"};

std::string read_text(const std::string& path) {
  const auto b = wastenet::test::read_bytes(path);
  return std::string(b.begin(), b.end());
}

// The twelve sample images laid out as a TrashNet dataset folder with a split file.
std::string make_dataset() {
  static const std::map<std::string, int> label = {{"glass", 1}, {"paper", 2}, {"cardboard", 3},
                                                   {"plastic", 4}, {"metal", 5}, {"trash", 6}};
  const std::string dir = data + "/robustness_dataset";
  std::ofstream split(dir + ".split.txt");
  for (const char* f : files) {
    std::string cls;
    for (const char* c = f; *c >= 'a' && *c <= 'z'; ++c) cls += *c;
    std::system(("mkdir -p " + dir + "/images/" + cls).c_str());
    wastenet::test::write_bytes(dir + "/images/" + cls + "/" + f, wastenet::test::read_bytes(samples + f));
    split << f << " " << label.at(cls) << "\n";
  }
  return dir;
}

// Accuracy on the twelve images of PyTorch's predictions recorded when the model was made.
double recorded_sample_accuracy() {
  std::ifstream in(model + ".test_predictions.json");
  const auto doc = nlohmann::json::parse(in);
  int correct = 0;
  for (const char* f : files) {
    for (const auto& e : doc) {
      if (e.at("file") == f) correct += e.at("pred") == e.at("label");
    }
  }
  return correct / 12.0;
}

Result robustness(const std::string& args, const std::string& tag) {
  return wastenet::test::run_command(WASTENET_ROBUSTNESS, args, tag);
}

TEST(RobustnessCli, CleanRowIsTheRecordedAccuracyAndReportsAreReproducible) {
  const std::string dir = make_dataset();
  const std::string common = "--model " + model + " --dataset " + dir + " --split " + dir + ".split.txt " +
                             "--only brightness,noise --seed 5 ";
  const Result one = robustness(common + "--threads 1 --markdown " + data + "/robust1.md --svg " + data + "/robust1.svg", "robust1");
  ASSERT_EQ(one.status, 0) << one.err;
  const Result two = robustness(common + "--threads 2 --markdown " + data + "/robust2.md", "robust2");
  ASSERT_EQ(two.status, 0) << two.err;
  const std::string md = read_text(data + "/robust1.md");
  EXPECT_EQ(md, read_text(data + "/robust2.md"));  // same seed, other worker count: same report
  EXPECT_NE(md.find(fmt::format("| none (clean) | | {:.4f} | |", recorded_sample_accuracy())), std::string::npos) << md;
  for (const char* row : {"| brightness | 0.4 factor |", "| brightness | 1.6 factor |", "| noise | 0.2 sigma (x 255) |"}) {
    EXPECT_NE(md.find(row), std::string::npos) << row << "\n" << md;
  }
  EXPECT_EQ(md.find("| rotation"), std::string::npos);  // --only
  const std::string svg = read_text(data + "/robust1.svg");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find(">brightness</text>"), std::string::npos);
  EXPECT_NE(svg.find(">noise</text>"), std::string::npos);
}

TEST(RobustnessCli, BadArgumentsAreNamed) {
  const std::string dir = make_dataset();
  Result r = robustness("--dataset " + dir + " --split " + dir + ".split.txt --only sunburn", "robust_bad1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--only: unknown perturbation 'sunburn'"), std::string::npos) << r.err;
  r = robustness("--dataset " + dir + " --split " + dir + ".split.txt --tta mirror", "robust_bad2");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("'none', 'flips' or 'flips+crops', got 'mirror'"), std::string::npos) << r.err;
  r = robustness("--dataset " + dir + " --split " + data + "/no_such_split.txt", "robust_bad3");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no_such_split.txt: cannot open split file"), std::string::npos) << r.err;
}

TEST(AugmentPreviewCli, WritesOneLabelledRowPerOperation) {
  const std::string out = data + "/preview.png";
  std::remove(out.c_str());
  const Result r = wastenet::test::run_command(WASTENET_AUGMENT_PREVIEW, "--cell 96 " + samples + "glass12.jpg " + out, "preview");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("14 operations"), std::string::npos) << r.out;
  const auto grid = wastenet::read_image(out);
  // 150 px of row titles, then five cells of 96 + 6 px; rows of 128 (96 x 512/384) + 16 + 6 px.
  EXPECT_EQ(grid.width(), 150 + 5 * (96 + 6));
  EXPECT_EQ(grid.height(), 14 * (128 + 16 + 6) + 6);
  const Result bad = wastenet::test::run_command(WASTENET_AUGMENT_PREVIEW, samples + "glass12.jpg", "preview_bad");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("expected IMAGE and OUTPUT.png"), std::string::npos) << bad.err;
}

}  // namespace
