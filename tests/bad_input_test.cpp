// Bad input: every malformed file or argument gets a typed error naming the file and the problem.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <zlib.h>

#include "test_util.hpp"
#include "wastenet/classifier.hpp"
#include "wastenet/io/image.hpp"
#include "wastenet/io/safetensors.hpp"
#include "wastenet/models/model.hpp"

namespace {

using wastenet::test::ref_dir;

std::string tmp_path(const std::string& name) { return std::string(WASTENET_TEST_DATA) + "/bad_" + name; }

// A safetensors file from a literal JSON header and a data section.
std::string write_raw(const std::string& name, const std::string& header, std::size_t data_bytes,
                      std::uint64_t claimed_len = 0) {
  std::vector<unsigned char> b(8);
  const std::uint64_t n = claimed_len ? claimed_len : header.size();
  for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<unsigned char>(n >> (8 * i));
  b.insert(b.end(), header.begin(), header.end());
  b.resize(b.size() + data_bytes, 0);
  const std::string path = tmp_path(name);
  wastenet::test::write_bytes(path, b);
  return path;
}

// Expects `fn` to throw exactly E with a message containing the file path and `fragment`.
template <class E, class F>
void expect_error(F&& fn, const std::string& path, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "no exception for " << path;
  } catch (const E& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

TEST(Safetensors, MissingFile) {
  const std::string p = tmp_path("does_not_exist.safetensors");
  expect_error<wastenet::FileError>([&] { wastenet::SafetensorsFile::open(p); }, p, "cannot open");
}

TEST(Safetensors, NotASafetensorsFile) {
  const std::string p = tmp_path("text.safetensors");
  wastenet::test::write_bytes(p, {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!'});
  expect_error<wastenet::FormatError>([&] { wastenet::SafetensorsFile::open(p); }, p, "header length");
  const std::string tiny = tmp_path("tiny.safetensors");
  wastenet::test::write_bytes(tiny, {1, 2, 3});
  expect_error<wastenet::FormatError>([&] { wastenet::SafetensorsFile::open(tiny); }, tiny, "not a safetensors file");
  const std::string notjson = write_raw("notjson.safetensors", "{not json at all", 0);
  expect_error<wastenet::FormatError>([&] { wastenet::SafetensorsFile::open(notjson); }, notjson, "not valid JSON");
}

TEST(Safetensors, HeaderLengthPastEnd) {
  const std::string p = write_raw("hdrlen.safetensors", "{}", 0, 1u << 20);
  expect_error<wastenet::FormatError>([&] { wastenet::SafetensorsFile::open(p); }, p, "runs past the end");
  const std::string huge = write_raw("hdrhuge.safetensors", "{}", 0, ~std::uint64_t{0});
  expect_error<wastenet::FormatError>([&] { wastenet::SafetensorsFile::open(huge); }, huge, "runs past the end");
}

TEST(Safetensors, ByteRangeOutsideData) {
  const std::string p = write_raw("range.safetensors", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8);
  expect_error<wastenet::FormatError>([&] { wastenet::SafetensorsFile::open(p); }, p, "outside the data section");
}

TEST(Safetensors, OverlappingTensors) {
  const std::string p = write_raw("overlap.safetensors",
                                  R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16);
  expect_error<wastenet::FormatError>([&] { wastenet::SafetensorsFile::open(p); }, p, "overlapping");
}

TEST(Safetensors, ShapeCountOverflows) {
  const std::string p = write_raw("overflow.safetensors",
                                  R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}})", 16);
  expect_error<wastenet::FormatError>([&] { wastenet::SafetensorsFile::open(p); }, p, "overflows");
}

TEST(Safetensors, SizeDisagreesWithShape) {
  const std::string p = write_raw("size.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16);
  expect_error<wastenet::FormatError>([&] { wastenet::SafetensorsFile::open(p); }, p, "tensor 'a'");
}

TEST(Safetensors, UnknownDtype) {
  const std::string p = write_raw("dtype.safetensors", R"({"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", 4);
  expect_error<wastenet::FormatError>([&] { wastenet::SafetensorsFile::open(p); }, p, "not one wastenet reads");
}

TEST(Safetensors, ReadsAllFloatTypes) {
  // 1.5 as F32, F16 (0x3E00), BF16 (0x3FC0), F64.
  std::vector<unsigned char> data = {0, 0, 0xC0, 0x3F, 0x00, 0x3E, 0xC0, 0x3F, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F};
  const std::string header = R"({"f32":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("f16":{"dtype":"F16","shape":[1],"data_offsets":[4,6]},)"
                             R"("bf16":{"dtype":"BF16","shape":[1],"data_offsets":[6,8]},)"
                             R"("f64":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},"__metadata__":{"k":"v"}})";
  std::vector<unsigned char> b(8);
  for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<unsigned char>(header.size() >> (8 * i));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  auto f = wastenet::SafetensorsFile::from_bytes(b, "mem");
  for (const char* n : {"f32", "f16", "bf16", "f64"}) EXPECT_EQ(f.to_float(f.tensor(n)), std::vector<float>{1.5f}) << n;
  EXPECT_EQ(f.meta("k"), "v");
}

TEST(Safetensors, FloatBlobsAreLittleEndianAndRoundTrip) {
  const auto f32 = wastenet::make_tensor_blob("a", {2}, {1.5f, -2.f});
  EXPECT_EQ(f32.bytes, (std::vector<unsigned char>{0, 0, 0xC0, 0x3F, 0, 0, 0, 0xC0}));
  // 1.5 is 0x3E00; 1 + 2^-11 is a tie between 1 and 1 + 2^-10 and rounds to the even 1 (0x3C00).
  const auto f16 = wastenet::make_tensor_blob("b", {1, 2}, {1.5f, 1.f + 0x1p-11f}, wastenet::DType::f16);
  EXPECT_EQ(f16.bytes, (std::vector<unsigned char>{0x00, 0x3E, 0x00, 0x3C}));
  const std::string p = tmp_path("blobs.safetensors");
  wastenet::write_safetensors(p, {f32, f16}, {});
  const auto file = wastenet::SafetensorsFile::open(p);
  EXPECT_EQ(file.to_float(file.tensor("a")), (std::vector<float>{1.5f, -2.f}));
  EXPECT_EQ(file.to_float(file.tensor("b")), (std::vector<float>{1.5f, 1.f}));
  EXPECT_EQ(wastenet::tensor_blobs(file)[1].bytes, f16.bytes);
  EXPECT_THROW(wastenet::make_tensor_blob("c", {3}, {1.f, 2.f}), wastenet::ArgumentError);
  EXPECT_THROW(wastenet::make_tensor_blob("d", {1}, {1.f}, wastenet::DType::bf16), wastenet::ArgumentError);
}

// Model-level errors, made by editing a real reference model.
class ModelFileErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = ref_dir() + "/mobilenet_v3_small_168.safetensors";
    ASSERT_TRUE(wastenet::test::exists(src_)) << "reference missing: " << src_;
    auto f = wastenet::SafetensorsFile::open(src_);
    blobs_ = wastenet::tensor_blobs(f);
    meta_ = f.metadata();
  }
  std::string write(const std::string& name) {
    const std::string p = tmp_path(name);
    wastenet::write_safetensors(p, blobs_, meta_);
    return p;
  }
  std::string src_;
  std::vector<wastenet::TensorBlob> blobs_;
  std::map<std::string, std::string> meta_;
};

TEST_F(ModelFileErrors, MissingKey) {
  blobs_.erase(std::find_if(blobs_.begin(), blobs_.end(), [](auto& b) { return b.name == "features.4.block.1.1.running_var"; }));
  const auto p = write("missing_key.safetensors");
  expect_error<wastenet::ModelError>([&] { wastenet::load_model(p); }, p, "missing tensor 'features.4.block.1.1.running_var'");
}

TEST_F(ModelFileErrors, ExtraKey) {
  blobs_.push_back({"features.99.weight", wastenet::DType::f32, {1}, {0, 0, 0, 0}});
  const auto p = write("extra_key.safetensors");
  expect_error<wastenet::ModelError>([&] { wastenet::load_model(p); }, p, "unexpected tensor 'features.99.weight'");
}

TEST_F(ModelFileErrors, WrongShape) {
  for (auto& b : blobs_) {
    if (b.name == "features.2.block.0.0.weight") b.shape = {b.shape[1], b.shape[0], 1, 1};  // transposed
  }
  const auto p = write("wrong_shape.safetensors");
  expect_error<wastenet::ModelError>([&] { wastenet::load_model(p); }, p, "'features.2.block.0.0.weight' has shape");
}

TEST_F(ModelFileErrors, ClassCountMismatch) {
  meta_["classes"] = "cardboard,glass,metal";  // the classifier has 6 outputs
  const auto p = write("classes.safetensors");
  expect_error<wastenet::ModelError>([&] { wastenet::load_model(p); }, p, "names 3 classes but the classifier has 6");
}

TEST_F(ModelFileErrors, UnknownArchitecture) {
  meta_["arch"] = "resnet50";
  const auto p = write("arch.safetensors");
  expect_error<wastenet::ModelError>([&] { wastenet::load_model(p); }, p, "unknown architecture 'resnet50'");
}

TEST_F(ModelFileErrors, NoArchitectureAnywhere) {
  meta_.erase("arch");
  const auto p = write("noarch.safetensors");
  expect_error<wastenet::ModelError>([&] { wastenet::load_model(p); }, p, "no 'arch'");
  EXPECT_NO_THROW(wastenet::load_model(p, {"mobilenet_v3_small"}));
  expect_error<wastenet::ModelError>([&] { wastenet::load_model(p, {"mobilenet_v2"}); }, p, "mobilenet_v2 needs [32, 3, 3, 3]");
}

TEST_F(ModelFileErrors, IntegerWeights) {
  for (auto& b : blobs_) {
    if (b.name == "classifier.3.bias") b.dtype = wastenet::DType::i32;
  }
  const auto p = write("int_weights.safetensors");
  expect_error<wastenet::ModelError>([&] { wastenet::load_model(p); }, p, "'classifier.3.bias' has dtype I32");
}

TEST_F(ModelFileErrors, BadMetadataValues) {
  meta_["input_size"] = "-5";
  auto p = write("input_size.safetensors");
  expect_error<wastenet::ModelError>([&] { wastenet::load_model(p); }, p, "input_size");
  meta_["input_size"] = "168";
  meta_["std"] = "0.2,zero,0.2";
  p = write("std.safetensors");
  expect_error<wastenet::ModelError>([&] { wastenet::load_model(p); }, p, "'zero'");
}

TEST_F(ModelFileErrors, FileTruncatedAfterItsHeaderWasRead) {
  // open() reads only the header; tensor data is read while the layers are built.
  const auto p = write("truncated_later.safetensors");
  const auto file = wastenet::SafetensorsFile::open(p);
  auto bytes = wastenet::test::read_bytes(p);
  bytes.resize(bytes.size() - 100);
  wastenet::test::write_bytes(p, bytes);
  expect_error<wastenet::FileError>([&] { wastenet::load_model(file); }, p, "changed size");
}

TEST_F(ModelFileErrors, StreamedAndInMemoryFilesGiveTheSameTensors) {
  const auto streamed = wastenet::SafetensorsFile::open(src_);
  const auto in_memory = wastenet::SafetensorsFile::from_bytes(wastenet::test::read_bytes(src_), src_);
  ASSERT_TRUE(streamed.streamed());
  ASSERT_FALSE(in_memory.streamed());
  ASSERT_EQ(streamed.tensors().size(), in_memory.tensors().size());
  EXPECT_EQ(streamed.file_size(), in_memory.file_size());
  for (std::size_t i = 0; i < streamed.tensors().size(); ++i) {
    EXPECT_EQ(streamed.raw_bytes(streamed.tensors()[i]), in_memory.raw_bytes(in_memory.tensors()[i]))
        << streamed.tensors()[i].name;
  }
}

TEST(Images, PngThatWouldMakeStbAllocateGigabytesIsRefused) {
  // Found by fuzz_image (tests/fuzz/regressions/image/png-inflate-bomb-7x5): a 7x5 PNG whose second
  // IDAT chunk claims 1.2 GB; stb grew its buffer to 2 GiB before noticing the file ends.
  const std::string p = wastenet::test::source_dir() + "/tests/fuzz/regressions/image/png-inflate-bomb-7x5";
  expect_error<wastenet::ImageError>([&] { wastenet::read_image(p); }, p, "claims 1224736788 bytes");
}

TEST(Images, PngWhosePixelDataInflatesPastItsSizeIsRefused) {
  // A valid 2x2 greyscale PNG needs 2 x (1 + 2) = 6 inflated bytes; this stream inflates to 100000.
  std::vector<unsigned char> raw(100000, 0);
  std::vector<unsigned char> z(compressBound(raw.size()));
  uLongf zlen = z.size();
  ASSERT_EQ(compress(z.data(), &zlen, raw.data(), raw.size()), Z_OK);
  z.resize(zlen);
  auto be32 = [](std::vector<unsigned char>& v, std::uint32_t x) {
    for (int i = 3; i >= 0; --i) v.push_back(static_cast<unsigned char>(x >> (8 * i)));
  };
  std::vector<unsigned char> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  be32(png, 13);
  for (char c : std::string("IHDR")) png.push_back(static_cast<unsigned char>(c));
  be32(png, 2);
  be32(png, 2);
  png.insert(png.end(), {8, 0, 0, 0, 0});
  be32(png, 0);  // CRC (stb does not check it)
  be32(png, static_cast<std::uint32_t>(z.size()));
  for (char c : std::string("IDAT")) png.push_back(static_cast<unsigned char>(c));
  png.insert(png.end(), z.begin(), z.end());
  be32(png, 0);
  be32(png, 0);
  for (char c : std::string("IEND")) png.push_back(static_cast<unsigned char>(c));
  be32(png, 0);
  expect_error<wastenet::ImageError>([&] { wastenet::decode_image(png.data(), png.size(), "bomb.png"); }, "bomb.png",
                                     "inflates to more than the 6 bytes");
}

TEST(Images, ZeroSizeAndUnreadable) {
  const std::string empty = tmp_path("empty.png");
  wastenet::test::write_bytes(empty, {});
  expect_error<wastenet::ImageError>([&] { wastenet::read_image(empty); }, empty, "empty file");
  const std::string junk = tmp_path("junk.jpg");
  wastenet::test::write_bytes(junk, {0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3, 4, 5, 6, 7});
  expect_error<wastenet::ImageError>([&] { wastenet::read_image(junk); }, junk, "");
  const std::string missing = tmp_path("nope.png");
  expect_error<wastenet::FileError>([&] { wastenet::read_image(missing); }, missing, "cannot open");
}

}  // namespace
