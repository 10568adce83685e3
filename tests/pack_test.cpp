// Packed models (wastenet-pack): batch norm folded at pack time, weights in the chosen precision.
// Loading a packed file gives bit-identical logits to loading the original in the same precision.
#include <gtest/gtest.h>

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "wastenet/io/safetensors.hpp"
#include "wastenet/models/model.hpp"
#include "wastenet/models/pack.hpp"

namespace {

using wastenet::Precision;

std::vector<float> logits_of(const std::string& path, Precision precision, const std::string& input_base, std::size_t size) {
  wastenet::LoadOptions opt;
  opt.precision = precision;
  const wastenet::Model model = wastenet::load_model(path, opt);
  wastenet::Tensor<float> input(wastenet::Shape4{1, size, size, 3});
  const auto in = wastenet::test::read_floats(input_base + ".input.bin");
  std::copy(in.begin(), in.end(), input.data());
  wastenet::ThreadPool pool(2);
  wastenet::Network::Workspace ws;
  const auto out = model.network.forward(input, ws, pool);
  return {out.data(), out.data() + out.size()};
}

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "wastenet_pack_" + name; }

class PackedModel : public ::testing::TestWithParam<std::string> {};

TEST_P(PackedModel, GivesTheSameLogitsAsTheOriginalInEachPrecision) {
  const std::string base = wastenet::test::ref_dir() + "/" + GetParam();
  const std::size_t size = 224;
  std::size_t bytes[2] = {0, 0};
  for (Precision p : {Precision::fp32, Precision::fp16}) {
    SCOPED_TRACE(wastenet::precision_name(p));
    const std::string packed = temp_path(GetParam() + "." + wastenet::precision_name(p) + ".safetensors");
    const auto r = wastenet::pack_model(wastenet::SafetensorsFile::open(base + ".safetensors"), packed, p);
    bytes[p == Precision::fp16] = r.bytes;
    EXPECT_EQ(logits_of(packed, p, base, size), logits_of(base + ".safetensors", p, base, size));

    const auto file = wastenet::SafetensorsFile::open(packed);
    EXPECT_EQ(file.meta("packed"), "bn_folded");
    EXPECT_EQ(file.meta("precision"), wastenet::precision_name(p));
    EXPECT_EQ(r.bytes, file.file_size());
    for (const auto& t : file.tensors()) {
      EXPECT_EQ(t.name.find("running_var"), std::string::npos) << "batch norm left in the packed file: " << t.name;
      const bool bias = t.name.size() > 5 && t.name.substr(t.name.size() - 5) == ".bias";
      EXPECT_EQ(t.dtype, p == Precision::fp16 && !bias ? wastenet::DType::f16 : wastenet::DType::f32) << t.name;
    }
    // Packing a packed file changes nothing.
    const std::string again = packed + ".again";
    wastenet::pack_model(file, again, p);
    EXPECT_EQ(wastenet::test::read_bytes(again), wastenet::test::read_bytes(packed));
    std::remove(again.c_str());
    std::remove(packed.c_str());
  }
  // FP16 weights take half the bytes; the biases stay FP32.
  EXPECT_LT(static_cast<double>(bytes[1]), 0.52 * static_cast<double>(bytes[0]));
}

INSTANTIATE_TEST_SUITE_P(Torchvision, PackedModel,
                         ::testing::Values("mobilenet_v2_224", "mobilenet_v3_small_224", "efficientnet_b0_224"),
                         [](const auto& info) { return info.param; });

TEST(PackedModel, UnknownPackingIsAModelErrorNamingTheFile) {
  const std::string base = wastenet::test::ref_dir() + "/mobilenet_v3_small_224";
  const std::string packed = temp_path("unknown.safetensors");
  wastenet::pack_model(wastenet::SafetensorsFile::open(base + ".safetensors"), packed, Precision::fp32);
  const auto file = wastenet::SafetensorsFile::open(packed);
  std::vector<wastenet::TensorBlob> blobs = wastenet::tensor_blobs(file);
  auto meta = file.metadata();
  meta["packed"] = "int8";
  const std::string bad = temp_path("bad_packing.safetensors");
  wastenet::write_safetensors(bad, blobs, meta);
  try {
    wastenet::load_model(bad);
    ADD_FAILURE() << "no error";
  } catch (const wastenet::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("packed"), std::string::npos) << e.what();
  }
  // A packed file that lost a folded bias names it.
  meta["packed"] = "bn_folded";
  blobs.erase(std::find_if(blobs.begin(), blobs.end(), [](const auto& b) { return b.name == "features.0.0.bias"; }));
  wastenet::write_safetensors(bad, blobs, meta);
  try {
    wastenet::load_model(bad);
    ADD_FAILURE() << "no error";
  } catch (const wastenet::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("features.0.0.bias"), std::string::npos) << e.what();
  }
  std::remove(bad.c_str());
  std::remove(packed.c_str());
}

TEST(PackTool, RefusesToOverwriteItsInputAndReportsSizes) {
  const std::string base = wastenet::test::ref_dir() + "/mobilenet_v3_small_224.safetensors";
  const std::string copy = temp_path("input.safetensors");
  const auto original = wastenet::test::read_bytes(base);
  wastenet::test::write_bytes(copy, original);

  const auto self = wastenet::test::run_command(WASTENET_PACK, copy + " " + copy, "pack_self");
  EXPECT_EQ(self.status, 1) << self.err;
  EXPECT_NE(self.err.find("never overwrites its input"), std::string::npos) << self.err;
  EXPECT_EQ(wastenet::test::read_bytes(copy), original);

  const std::string packed = temp_path("tool.fp16.safetensors");
  const auto ok = wastenet::test::run_command(WASTENET_PACK, "--precision fp16 " + copy + " " + packed, "pack_ok");
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_NE(ok.out.find("fp16 weights, batch norm folded"), std::string::npos) << ok.out;
  EXPECT_EQ(wastenet::load_model(packed).info.arch, "mobilenet_v3_small");
  EXPECT_EQ(wastenet::test::read_bytes(copy), original);
  EXPECT_FALSE(wastenet::test::exists(packed + ".partial"));

  const auto missing = wastenet::test::run_command(WASTENET_PACK, copy + ".absent " + packed + ".2", "pack_missing");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.err.find(copy + ".absent"), std::string::npos) << missing.err;
  EXPECT_FALSE(wastenet::test::exists(packed + ".2"));
  EXPECT_FALSE(wastenet::test::exists(packed + ".2.partial"));
  const auto folder = wastenet::test::run_command(WASTENET_PACK, copy + " " + ::testing::TempDir(), "pack_folder");
  EXPECT_NE(folder.status, 0);
  EXPECT_NE(folder.err.find("is a folder"), std::string::npos) << folder.err;
  const auto nowhere = wastenet::test::run_command(WASTENET_PACK, copy + " /nonexistent/folder/out.safetensors", "pack_nowhere");
  EXPECT_NE(nowhere.status, 0);
  EXPECT_NE(nowhere.err.find("/nonexistent/folder does not exist"), std::string::npos) << nowhere.err;
  std::remove(packed.c_str());
  std::remove(copy.c_str());
}

}  // namespace
