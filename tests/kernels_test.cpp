// Every kernel path against a double-precision direct convolution, over the shapes the models use
// and the awkward ones they do not (channel counts that are not a multiple of the vector width,
// strides, dilation, asymmetric kernels, groups, residuals, every activation, several threads).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "wastenet/half.hpp"
#include "wastenet/kernels/channels.hpp"
#include "wastenet/kernels/dispatch.hpp"
#include "wastenet/nn/conv.hpp"
#if WASTENET_X86_KERNELS
#include "wastenet/kernels/x86/f32_avx2.hpp"
#include "wastenet/kernels/x86/f32_avx512.hpp"
#endif

namespace {

using wastenet::ActKind;
using wastenet::Activation;
using wastenet::ConvParams;
using wastenet::KernelPath;
using wastenet::Shape4;

struct ConvCase {
  std::string name;
  ConvParams p;
  std::size_t n, h, w;
};

std::vector<float> random_vector(std::size_t n, std::mt19937& rng, float scale) {
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// v with every element rounded to the nearest binary16 value, kept as float.
std::vector<float> rounded_to_half(std::vector<float> v) {
  for (float& x : v) x = static_cast<float>(wastenet::half(x));
  return v;
}

// v as binary16 (exact where v already holds binary16 values).
std::vector<wastenet::half> to_half(const std::vector<float>& v) {
  std::vector<wastenet::half> h(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) h[i] = wastenet::half(v[i]);
  return h;
}

// Direct convolution in double: out[n][oy][ox][o], NHWC input, PyTorch weight layout.
std::vector<double> reference_conv(const ConvCase& c, const Shape4& o, const std::vector<float>& in,
                                   const std::vector<float>& w, const std::vector<float>& b) {
  const ConvParams& p = c.p;
  const std::size_t cin_g = p.in_channels / p.groups, cout_g = p.out_channels / p.groups;
  std::vector<double> out(o.n * o.h * o.w * o.c);
  for (std::size_t n = 0; n < o.n; ++n)
    for (std::size_t oy = 0; oy < o.h; ++oy)
      for (std::size_t ox = 0; ox < o.w; ++ox)
        for (std::size_t oc = 0; oc < o.c; ++oc) {
          const std::size_t g = oc / cout_g;
          double acc = b[oc];
          for (std::size_t ky = 0; ky < p.kernel_h; ++ky)
            for (std::size_t kx = 0; kx < p.kernel_w; ++kx) {
              const long iy = static_cast<long>(oy * p.stride_h + ky * p.dilation_h) - static_cast<long>(p.pad_h);
              const long ix = static_cast<long>(ox * p.stride_w + kx * p.dilation_w) - static_cast<long>(p.pad_w);
              if (iy < 0 || ix < 0 || iy >= static_cast<long>(c.h) || ix >= static_cast<long>(c.w)) continue;
              for (std::size_t i = 0; i < cin_g; ++i) {
                const std::size_t ic = g * cin_g + i;
                acc += static_cast<double>(in[((n * c.h + static_cast<std::size_t>(iy)) * c.w + static_cast<std::size_t>(ix)) * p.in_channels + ic]) *
                       w[((oc * cin_g + i) * p.kernel_h + ky) * p.kernel_w + kx];
              }
            }
          out[((n * o.h + oy) * o.w + ox) * o.c + oc] = acc;
        }
  return out;
}

ConvParams conv(std::size_t cin, std::size_t cout, std::size_t k, std::size_t stride, std::size_t pad,
                std::size_t groups = 1, std::size_t dilation = 1) {
  ConvParams p;
  p.in_channels = cin;
  p.out_channels = cout;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = pad;
  p.groups = groups;
  p.dilation_h = p.dilation_w = dilation;
  return p;
}

std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> cases = {
      {"pointwise_16_to_96", conv(16, 96, 1, 1, 0), 1, 14, 14},
      {"pointwise_odd_7_to_37", conv(7, 37, 1, 1, 0), 2, 5, 3},
      {"pointwise_1x1_image", conv(40, 17, 1, 1, 0), 3, 1, 1},
      {"pointwise_one_pixel_5_panels", conv(64, 150, 1, 1, 0), 1, 1, 1},  // one row: 4 panels, then 1
      {"pointwise_one_pixel_3_panels", conv(33, 70, 1, 1, 0), 1, 1, 1},
      {"pointwise_half_panel_24_to_144", conv(24, 144, 1, 1, 0), 1, 7, 11},  // last panel 16 wide, 77 rows
      {"pointwise_16_columns", conv(32, 16, 1, 1, 0), 2, 5, 5},
      {"pointwise_narrow_panel_96_to_24", conv(96, 24, 1, 1, 0), 1, 7, 11},  // 8-column panel, 77 rows
      {"pointwise_7x7_lone_last_row", conv(160, 40, 1, 1, 0), 1, 7, 7},  // 49 rows: 8 tiles, then one row
      {"pointwise_wide_320_to_1280", conv(320, 1280, 1, 1, 0), 1, 7, 7},
      {"depthwise_3x3_s1", conv(32, 32, 3, 1, 1, 32), 1, 12, 12},
      {"depthwise_3x3_s2_odd_channels", conv(21, 21, 3, 2, 1, 21), 2, 9, 11},
      {"depthwise_5x5_s2", conv(40, 40, 5, 2, 2, 40), 1, 15, 15},
      {"depthwise_dilated", conv(19, 19, 3, 1, 2, 19, 2), 1, 8, 8},
      {"depthwise_no_padding_tiny", conv(16, 16, 3, 1, 0, 16), 1, 3, 3},
      {"depthwise_3x3_on_2x2", conv(33, 33, 3, 1, 1, 33), 2, 2, 2},
      {"depthwise_5x5_s1_on_3x4", conv(48, 48, 5, 1, 2, 48), 1, 3, 4},
      {"depthwise_5x5_s1_odd", conv(17, 17, 5, 1, 2, 17), 1, 9, 7},
      {"depthwise_3x3_s2_even_no_pad", conv(16, 16, 3, 2, 0, 16), 1, 8, 9},
      {"stem_3x3_s2", conv(3, 16, 3, 2, 1), 1, 33, 31},
      {"stem_3x3_s2_32", conv(3, 32, 3, 2, 1), 2, 40, 37},
      {"stem_3x3_s2_even_width", conv(3, 32, 3, 2, 1), 1, 21, 30},  // 15 = 1 + 8 + a last block of 8 overlapping it
      {"direct_cin2_dilated", conv(2, 37, 3, 2, 2, 1, 2), 1, 19, 23},
      {"direct_cin1_7x7", conv(1, 8, 7, 1, 3), 2, 10, 17},
      {"direct_cin4_wide", conv(4, 33, 3, 1, 1), 1, 5, 21},
      {"direct_5x5_s2_all_border", conv(3, 16, 5, 2, 2), 1, 3, 3},  // no column has all its taps inside
      {"general_5x5_odd", conv(5, 11, 5, 1, 2), 2, 7, 6},
      {"strided_1x1", conv(24, 40, 1, 2, 0), 1, 9, 9},
      {"grouped", conv(12, 18, 3, 1, 1, 3), 1, 6, 6},
  };
  ConvCase asym{"asymmetric_1x3_dilated", conv(6, 10, 1, 1, 0), 1, 9, 10};
  asym.p.kernel_w = 3;
  asym.p.pad_w = 2;
  asym.p.dilation_w = 2;
  asym.p.stride_h = 2;
  cases.push_back(asym);
  ConvCase rows_dilated{"direct_rows_dilated", conv(8, 20, 3, 1, 1), 2, 11, 14};  // kernel rows 2 image rows apart
  rows_dilated.p.dilation_h = 2;
  rows_dilated.p.pad_h = 2;
  cases.push_back(rows_dilated);
  return cases;
}

std::vector<KernelPath> supported_paths() {
  std::vector<KernelPath> paths{KernelPath::portable};
  if (wastenet::kernel_path_supported(KernelPath::f16c)) paths.push_back(KernelPath::f16c);
  if (wastenet::kernel_path_supported(KernelPath::avx512)) paths.push_back(KernelPath::avx512);
  if (wastenet::kernel_path_supported(KernelPath::avx512fp16)) paths.push_back(KernelPath::avx512fp16);
  return paths;
}

const std::vector<ActKind> all_activations = {ActKind::identity, ActKind::relu,   ActKind::relu6,
                                              ActKind::silu,     ActKind::hardswish, ActKind::hardsigmoid,
                                              ActKind::sigmoid,  ActKind::mish,   ActKind::leaky_relu,
                                              ActKind::gelu};

// One group per channel, as many outputs as inputs.
bool is_depthwise(const ConvParams& p) { return p.groups == p.in_channels && p.in_channels == p.out_channels; }

// Whether an FP16 layer with these parameters, on the avx512fp16 path, is a depthwise layer that
// sums its taps in binary16: undilated, square 3x3 or 5x5 (the library's kernels with the weights
// in registers).
bool sums_taps_in_half(const ConvParams& p) {
  return is_depthwise(p) && p.dilation_h == 1 && p.dilation_w == 1 && p.kernel_h == p.kernel_w &&
         (p.kernel_h == 3 || p.kernel_h == 5);
}

class ConvKernels : public ::testing::TestWithParam<KernelPath> {
 protected:
  void TearDown() override { wastenet::reset_kernel_path(); }
};

TEST_P(ConvKernels, MatchDirectConvolutionForEveryShapeActivationAndResidual) {
  wastenet::set_kernel_path(GetParam());
  std::mt19937 rng(1234);
  for (const ConvCase& c : conv_cases()) {
    const Shape4 in_shape{c.n, c.h, c.w, c.p.in_channels};
    const std::size_t fan_in = c.p.in_channels / c.p.groups * c.p.kernel_h * c.p.kernel_w;
    const auto in = random_vector(in_shape.count(), rng, 2.f);
    const auto weight = random_vector(c.p.out_channels * fan_in, rng, 2.f / std::sqrt(static_cast<float>(fan_in)));
    const auto bias = random_vector(c.p.out_channels, rng, 0.5f);
    for (ActKind kind : all_activations) {
      const Activation act{kind, 0.1f};
      const wastenet::Conv2d layer(c.p, weight, bias, nullptr, act);
      ASSERT_EQ(layer.kernel_path_used(), GetParam());
      const Shape4 o = layer.output_shape(in_shape);
      const auto expected = reference_conv(c, o, in, weight, bias);
      const auto residual = random_vector(o.count(), rng, 1.f);
      for (bool with_residual : {false, true}) {
        for (std::size_t threads : {1, 3}) {
          wastenet::ThreadPool pool(threads);
          std::vector<float> out(o.count(), std::nanf(""));
          layer.forward(in.data(), in_shape, out.data(), with_residual ? residual.data() : nullptr, pool);
          double worst = 0;
          for (std::size_t i = 0; i < out.size(); ++i) {
            const double want = act(static_cast<float>(expected[i])) + (with_residual ? residual[i] : 0.f);
            // NaN (an output never written) must fail: std::max would silently drop it.
            worst = std::max(worst, std::isnan(out[i]) ? 1e9 : std::abs(out[i] - want) / (1.0 + std::abs(want)));
          }
          EXPECT_LT(worst, 2e-5) << c.name << " act " << static_cast<int>(kind) << " residual " << with_residual
                                 << " threads " << threads << " path " << wastenet::kernel_path_name(GetParam());
        }
      }
    }
  }
}

// FP16: binary16 input, weights and residual; FP32 accumulation; one rounding of the output. Against
// the double reference on the same rounded values, within binary16's rounding (2^-11 relative) plus
// FP32 accumulation error.
TEST_P(ConvKernels, Fp16MatchesDirectConvolutionOnRoundedValues) {
  wastenet::set_kernel_path(GetParam());
  std::mt19937 rng(4321);
  auto abs_all = [](std::vector<float> v) {
    for (float& x : v) x = std::fabs(x);
    return v;
  };
  for (const ConvCase& c : conv_cases()) {
    const Shape4 in_shape{c.n, c.h, c.w, c.p.in_channels};
    const std::size_t fan_in = c.p.in_channels / c.p.groups * c.p.kernel_h * c.p.kernel_w;
    const auto in = rounded_to_half(random_vector(in_shape.count(), rng, 2.f));
    const auto weight = random_vector(c.p.out_channels * fan_in, rng, 2.f / std::sqrt(static_cast<float>(fan_in)));
    const auto bias = random_vector(c.p.out_channels, rng, 0.5f);
    const auto in_h = to_half(in);
    for (ActKind kind : {ActKind::identity, ActKind::relu6, ActKind::silu, ActKind::hardswish}) {
      const Activation act{kind, 0.1f};
      const wastenet::Conv2d layer(c.p, weight, bias, nullptr, act, wastenet::Precision::fp16);
      const Shape4 o = layer.output_shape(in_shape);
      const auto expected = reference_conv(c, o, in, rounded_to_half(weight), bias);
      // On the avx512fp16 path a 1x1 layer also rounds inside its runs of 32 binary16 products
      // (Avx512Fp16Gemm below), and a 3x3 or 5x5 depthwise layer inside its kernel rows' sums of 3
      // or 5 taps (Avx512Fp16Depthwise): there each output may move by a further run x 2^-11 x sum |a_k w_k|,
      // times 1.5, the largest slope of these activations (hardswish at 3).
      const std::size_t run = GetParam() != KernelPath::avx512fp16 ? 0
                              : layer.kind() == wastenet::Conv2d::Kind::pointwise ? 32
                              : sums_taps_in_half(c.p) ? c.p.kernel_w : 0;
      const auto magnitude = run ? reference_conv(c, o, abs_all(in), abs_all(rounded_to_half(weight)), abs_all(bias))
                                 : std::vector<double>(o.count(), 0.0);
      const auto residual = rounded_to_half(random_vector(o.count(), rng, 1.f));
      const auto res_h = to_half(residual);
      for (bool with_residual : {false, true}) {
        for (std::size_t threads : {1, 3}) {
          wastenet::ThreadPool pool(threads);
          std::vector<wastenet::half> out(o.count(), wastenet::half::from_bits(0x7E00));  // NaN: unwritten shows
          layer.forward_fp16(in_h.data(), in_shape, out.data(), with_residual ? res_h.data() : nullptr, pool);
          double worst = 0;
          for (std::size_t i = 0; i < out.size(); ++i) {
            const double want = act(static_cast<float>(expected[i])) + (with_residual ? residual[i] : 0.f);
            const double got = static_cast<float>(out[i]);
            const double allowed_by_runs = 1.5 * static_cast<double>(run) * std::ldexp(magnitude[i], -11) / (1.0 + std::abs(want));
            worst = std::max(worst, std::isnan(got) ? 1e9 : std::abs(got - want) / (1.0 + std::abs(want)) - allowed_by_runs);
          }
          EXPECT_LT(worst, 6e-4) << c.name << " act " << static_cast<int>(kind) << " residual " << with_residual
                                 << " threads " << threads << " path " << wastenet::kernel_path_name(GetParam());
        }
      }
    }
  }
}

// An FP16 depthwise layer computes in FP32 on the widened binary16 values and rounds each output
// once (after the activation and the residual): its bits are those of the FP32 layer, given the
// same rounded weights and inputs, rounded. On AVX-512 the 3x3 and 5x5 kernels widen and round in
// registers; the other paths and shapes widen bands of rows into scratch buffers. The exception
// is the avx512fp16 path's 3x3 and 5x5 layers, which multiply in binary16 (Avx512Fp16Depthwise).
TEST_P(ConvKernels, Fp16DepthwiseHasTheBitsOfFp32OnWidenedValuesRounded) {
  wastenet::set_kernel_path(GetParam());
  std::mt19937 rng(8765);
  std::size_t depthwise_cases = 0, in_half = 0;
  for (const ConvCase& c : conv_cases()) {
    if (!is_depthwise(c.p) || c.p.kernel_h == 1) continue;
    ++depthwise_cases;
    if (GetParam() == KernelPath::avx512fp16 && sums_taps_in_half(c.p)) {
      ++in_half;
      continue;
    }
    const Shape4 in_shape{c.n, c.h, c.w, c.p.in_channels};
    const std::size_t fan_in = c.p.kernel_h * c.p.kernel_w;
    const auto in = rounded_to_half(random_vector(in_shape.count(), rng, 2.f));
    const auto weight = rounded_to_half(random_vector(c.p.out_channels * fan_in, rng, 2.f / std::sqrt(static_cast<float>(fan_in))));
    const auto bias = random_vector(c.p.out_channels, rng, 0.5f);
    const auto in_h = to_half(in);
    for (ActKind kind : all_activations) {
      const Activation act{kind, 0.1f};
      const wastenet::Conv2d layer16(c.p, weight, bias, nullptr, act, wastenet::Precision::fp16);
      const wastenet::Conv2d layer32(c.p, weight, bias, nullptr, act, wastenet::Precision::fp32);
      const Shape4 o = layer16.output_shape(in_shape);
      const auto residual = rounded_to_half(random_vector(o.count(), rng, 1.f));
      const auto res_h = to_half(residual);
      for (bool with_residual : {false, true}) {
        wastenet::ThreadPool one(1);
        std::vector<float> out32(o.count());
        layer32.forward(in.data(), in_shape, out32.data(), with_residual ? residual.data() : nullptr, one);
        for (std::size_t threads : {1, 3}) {
          wastenet::ThreadPool pool(threads);
          std::vector<wastenet::half> out16(o.count(), wastenet::half::from_bits(0x7E00));  // NaN: unwritten shows
          layer16.forward_fp16(in_h.data(), in_shape, out16.data(), with_residual ? res_h.data() : nullptr, pool);
          std::size_t differing = 0, first = 0;
          for (std::size_t i = 0; i < out16.size(); ++i) {
            if (out16[i].bits != wastenet::half(out32[i]).bits && differing++ == 0) first = i;
          }
          EXPECT_EQ(differing, 0u) << c.name << " act " << static_cast<int>(kind) << " residual " << with_residual
                                   << " threads " << threads << " path " << wastenet::kernel_path_name(GetParam())
                                   << ": first at " << first << ", fp16 " << static_cast<float>(out16[first])
                                   << ", fp32 " << out32[first];
        }
      }
    }
  }
  EXPECT_EQ(depthwise_cases, 9u);
  EXPECT_EQ(in_half, GetParam() == KernelPath::avx512fp16 ? 8u : 0u);
}

INSTANTIATE_TEST_SUITE_P(Paths, ConvKernels, ::testing::ValuesIn(supported_paths()),
                         [](const auto& info) { return std::string(wastenet::kernel_path_name(info.param)); });

// A single row (the squeeze-and-excitation and classifier layers) takes the matrix-vector kernel,
// which must give each output the bits the tiles (7 rows on AVX-512, 6 on AVX2) give it, since
// which kernel a row meets depends on the thread split and on the fused bands.
class SingleRow : public ::testing::TestWithParam<KernelPath> {
 protected:
  void TearDown() override { wastenet::reset_kernel_path(); }
};

TEST_P(SingleRow, HasTheBitsOfTheTiles) {
  if (!wastenet::kernel_path_supported(GetParam())) GTEST_SKIP() << "this CPU cannot run the path";
  wastenet::set_kernel_path(GetParam());
  std::mt19937 rng(99);
  for (std::size_t n_out : {16u, 70u, 150u, 260u}) {
    const ConvParams p = conv(45, n_out, 1, 1, 0);
    // 15 rows: full tiles and a last one of 1 to 3 rows. 13 rows on AVX2: two tiles and a lone row,
    // which a multi-row call computes after each group of four panels.
    for (const Shape4 in_shape : {Shape4{1, 3, 5, p.in_channels}, Shape4{1, 1, 13, p.in_channels}}) {
      const std::size_t rows = in_shape.count() / p.in_channels;
      const auto in = random_vector(in_shape.count(), rng, 2.f);
      const auto weight = random_vector(p.out_channels * p.in_channels, rng, 0.3f);
      const auto bias = random_vector(p.out_channels, rng, 0.5f);
      for (ActKind kind : {ActKind::identity, ActKind::silu, ActKind::hardswish}) {
        const wastenet::Conv2d layer(p, weight, bias, nullptr, Activation{kind});
        wastenet::ThreadPool pool(1);
        std::vector<float> tiles(rows * n_out), row(n_out);
        layer.forward(in.data(), in_shape, tiles.data(), nullptr, pool);
        for (std::size_t r = 0; r < rows; ++r) {
          layer.forward(in.data() + r * p.in_channels, Shape4{1, 1, 1, p.in_channels}, row.data(), nullptr, pool);
          EXPECT_EQ(std::memcmp(row.data(), tiles.data() + r * n_out, n_out * sizeof(float)), 0)
              << "row " << r << " of " << rows << " x " << n_out << " columns, " << wastenet::activation_name(kind);
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, SingleRow, ::testing::Values(KernelPath::f16c, KernelPath::avx512, KernelPath::avx512fp16),
                         [](const auto& info) { return std::string(wastenet::kernel_path_name(info.param)); });

// With fewer rows than columns (7x7 maps), the AVX2 path splits a 1x1 convolution's columns
// among threads instead of its rows: the output must keep the bits of one thread.
class ThreadSplit : public ::testing::TestWithParam<KernelPath> {
 protected:
  void TearDown() override { wastenet::reset_kernel_path(); }
};

TEST_P(ThreadSplit, GivesTheBitsOfOneThread) {
  wastenet::set_kernel_path(GetParam());
  std::mt19937 rng(31);
  struct Case {
    std::size_t h, w, cin, cout;
  };
  // Columns split (49 rows, 1152 or 70 columns: whole panels and a narrow last one), then rows.
  for (const Case& c : {Case{7, 7, 192, 1152}, Case{7, 7, 33, 70}, Case{1, 3, 45, 260}, Case{14, 14, 112, 96}}) {
    const ConvParams p = conv(c.cin, c.cout, 1, 1, 0);
    const Shape4 in_shape{1, c.h, c.w, c.cin};
    const auto in = random_vector(in_shape.count(), rng, 2.f);
    const auto weight = random_vector(c.cout * c.cin, rng, 0.3f);
    const auto bias = random_vector(c.cout, rng, 0.5f);
    const auto res = random_vector(c.h * c.w * c.cout, rng, 1.f);
    const wastenet::Conv2d layer(p, weight, bias, nullptr, Activation{ActKind::silu});
    for (const float* r : {static_cast<const float*>(nullptr), res.data()}) {
      std::vector<float> one(res.size(), std::nanf(""));
      wastenet::ThreadPool single(1);
      layer.forward(in.data(), in_shape, one.data(), r, single);
      for (std::size_t threads : {2, 3}) {
        std::vector<float> split(res.size(), std::nanf(""));
        wastenet::ThreadPool pool(threads);
        layer.forward(in.data(), in_shape, split.data(), r, pool);
        EXPECT_EQ(std::memcmp(split.data(), one.data(), one.size() * sizeof(float)), 0)
            << c.h << "x" << c.w << " " << c.cin << "->" << c.cout << ", " << threads << " threads" << (r ? ", residual" : "");
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, ThreadSplit, ::testing::ValuesIn(supported_paths()),
                         [](const auto& info) { return std::string(wastenet::kernel_path_name(info.param)); });

#if WASTENET_X86_KERNELS
// Every 97th float from the bit pattern `first_bits` up to 88 (0x42b00000), of either sign, down
// to -87: about 23 million inputs. Padded with `pad` to whole vectors of 8.
std::vector<float> every_97th_float_in_range(std::uint32_t first_bits, float pad) {
  std::vector<float> xs;
  for (std::uint32_t sign : {0u, 0x80000000u}) {
    for (std::uint32_t bits = first_bits; bits <= 0x42b00000u; bits += 97) {
      float x = 0;
      const std::uint32_t b = bits | sign;
      std::memcpy(&x, &b, sizeof x);
      if (x >= -87.f) xs.push_back(x);
    }
  }
  xs.resize((xs.size() + 7) / 8 * 8, pad);
  return xs;
}

// Four inputs far below the accurate range and four above it, where sigmoid and SiLU saturate.
constexpr float saturating_ends[8] = {-1e30f, -100.f, -88.5f, -87.5f, 17.5f, 88.5f, 100.f, 1e30f};

struct WorstUlp {
  double ulp = 0;
  float x = 0;
};

// The largest error of kernel8 (8 lanes in, 8 out) against `reference` in double precision, in
// units in the last place of the float result; NaN counts as the worst.
template <class Kernel8, class Reference>
WorstUlp worst_ulp_over(const std::vector<float>& xs, Kernel8 kernel8, Reference reference) {
  WorstUlp worst;
  for (std::size_t i = 0; i < xs.size(); i += 8) {
    float got[8];
    kernel8(&xs[i], got);
    for (std::size_t j = 0; j < 8; ++j) {
      const double want = reference(static_cast<double>(xs[i + j]));
      const double ulp = std::ldexp(1.0, std::ilogb(static_cast<float>(want)) - 23);
      const double err = std::abs(got[j] - want) / ulp;
      if (!(err <= worst.ulp)) {
        worst.ulp = std::isnan(err) ? 1e9 : err;
        worst.x = xs[i + j];
      }
    }
  }
  return worst;
}

// The AVX2 sigmoid (the SE gates') against double precision over every 97th float in [-87, 88],
// and at the clamped ends.
WASTENET_AVX2 void sigmoid_avx2_of(const float* x, float* out) {
  _mm256_storeu_ps(out, wastenet::kernels::sigmoid_avx2(_mm256_loadu_ps(x)));
}

TEST(Avx2Sigmoid, IsWithinSixUlpOfDoublePrecisionAndSaturatesAtTheEnds) {
  if (!wastenet::kernel_path_supported(KernelPath::f16c)) GTEST_SKIP() << "this CPU has no AVX2 and FMA";
  const std::vector<float> xs = every_97th_float_in_range(0, 0.f);
  const WorstUlp worst = worst_ulp_over(xs, sigmoid_avx2_of, [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
  EXPECT_LE(worst.ulp, 6.0) << "at x = " << worst.x << " over " << xs.size() << " inputs";
  // Below about -87.3 the true value is under 2^-126, the smallest normal float: the result is
  // below it too and not negative, never garbage from the exponent field. Above 17 the true value
  // rounds to 1, and so does the quotient.
  float s[8];
  sigmoid_avx2_of(saturating_ends, s);
  for (std::size_t j = 0; j < 4; ++j) {
    EXPECT_GE(s[j], 0.f) << "x = " << saturating_ends[j];
    EXPECT_LT(s[j], std::numeric_limits<float>::min()) << "x = " << saturating_ends[j];
  }
  for (std::size_t j = 4; j < 8; ++j) EXPECT_EQ(s[j], 1.f) << "x = " << saturating_ends[j];
}

// SiLU, x / (1 + e^-x) in one division, against double precision over the normal floats of the
// same range. Far below -87 the result is a tiny negative number no larger in magnitude than x times
// 2^-126 (the denominator's x is clamped at -88.3); above 17 it is x.
WASTENET_AVX2 void silu_avx2_of(const float* x, float* out) {
  _mm256_storeu_ps(out, wastenet::kernels::silu_avx2(_mm256_loadu_ps(x)));
}

TEST(Avx2Silu, IsWithinFourUlpOfDoublePrecisionAndTendsToZeroAndX) {
  if (!wastenet::kernel_path_supported(KernelPath::f16c)) GTEST_SKIP() << "this CPU has no AVX2 and FMA";
  const std::vector<float> xs = every_97th_float_in_range(0x00800000u, 1.f);  // from 2^-126, the smallest normal
  const WorstUlp worst = worst_ulp_over(xs, silu_avx2_of, [](double x) { return x / (1.0 + std::exp(-x)); });
  EXPECT_LE(worst.ulp, 4.0) << "at x = " << worst.x << " over " << xs.size() << " inputs";
  float s[8];
  silu_avx2_of(saturating_ends, s);
  for (std::size_t j = 0; j < 4; ++j) {
    EXPECT_LE(s[j], 0.f) << "x = " << saturating_ends[j];
    EXPECT_GE(s[j], saturating_ends[j] * std::numeric_limits<float>::min()) << "x = " << saturating_ends[j];
  }
  for (std::size_t j = 4; j < 8; ++j) EXPECT_EQ(s[j], saturating_ends[j]) << "x = " << saturating_ends[j];
}

// The AVX-512 sigmoid and SiLU are the AVX2 functions on 16 lanes: the same operations on the same
// constants, so the same bits on every input, and the two tests above hold for them too.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) void avx512_activation_of(const float* x, float* out,
                                                                                          ActKind kind) {
  Activation act;
  act.kind = kind;
  _mm512_storeu_ps(out, wastenet::kernels::activate_avx512(_mm512_loadu_ps(x), act));
}

TEST(Avx512SigmoidAndSilu, HaveTheBitsOfTheAvx2Functions) {
  if (!wastenet::kernel_path_supported(KernelPath::avx512)) GTEST_SKIP() << "this CPU has no AVX-512";
  std::vector<float> xs = every_97th_float_in_range(0, 0.f);
  xs.insert(xs.end(), std::begin(saturating_ends), std::end(saturating_ends));
  xs.resize((xs.size() + 15) / 16 * 16, 0.f);
    for (ActKind kind : {ActKind::sigmoid, ActKind::silu}) {
    const auto avx2_of = kind == ActKind::sigmoid ? sigmoid_avx2_of : silu_avx2_of;
    for (std::size_t i = 0; i < xs.size(); i += 16) {
      float wide[16], narrow[16];
      avx512_activation_of(&xs[i], wide, kind);
      avx2_of(&xs[i], narrow);
      avx2_of(&xs[i + 8], narrow + 8);
      for (std::size_t j = 0; j < 16; ++j) {
        ASSERT_EQ(std::memcmp(&wide[j], &narrow[j], sizeof(float)), 0)
            << wastenet::activation_name(kind) << " at x = " << xs[i + j] << ": " << wide[j] << " against " << narrow[j];
      }
    }
  }
}
#endif

#if WASTENET_X86_KERNELS
// The AVX2 depthwise sweep (each input pixel loaded once per kernel row for up to 8 outputs) must
// give every output the bits of the one-pixel kernel, which adds the taps in the same order: which
// kernel an output meets depends on the image width and on where a fused band starts.
template <ActKind A>
WASTENET_AVX2 void dwconv_one_pixel_at_a_time(const wastenet::kernels::ConvGeometry& g, const float* in, const float* w,
                                              const float* bias, const Activation& act, const float* res, float* out) {
  for (std::size_t oy = 0; oy < g.oh; ++oy)
    for (std::size_t ox = 0; ox < g.ow; ++ox) {
      const std::size_t at = (oy * g.ow + ox) * g.c;
      wastenet::kernels::dwconv_pixel_channels_avx2<A>(in, g, oy, ox, 0, w, bias, act, res ? res + at : nullptr, out + at);
    }
}

// A depthwise layer's shape in the sweep tests: kernel k x k, stride, input h x w x c, padding k / 2.
struct DepthwiseShape {
  std::size_t k, stride, h, w, c;
};
wastenet::kernels::ConvGeometry depthwise_geometry(const DepthwiseShape& sh) {
  const std::size_t pad = sh.k / 2, oh = (sh.h + 2 * pad - sh.k) / sh.stride + 1, ow = (sh.w + 2 * pad - sh.k) / sh.stride + 1;
  return {1, sh.h, sh.w, sh.c, oh, ow, sh.c, sh.k, sh.k, sh.stride, sh.stride, pad, pad, 1, 1, sh.c};
}

// Runs `swept` and `reference` (each writes the layer's output for an activation and an optional
// residual) for every activation the depthwise kernels fuse, with and without `res`, and expects
// the same bits from both.
template <class Swept, class Reference>
void expect_same_bits_for_each_epilogue(const DepthwiseShape& sh, std::size_t count, const float* res, Swept swept,
                                        Reference reference) {
  for (ActKind kind : {ActKind::identity, ActKind::relu6, ActKind::silu, ActKind::hardswish}) {
    const Activation act{kind};
    for (const float* r : {static_cast<const float*>(nullptr), res}) {
      std::vector<float> got(count, std::nanf("")), want(count, std::nanf(""));
      swept(act, r, got.data());
      reference(act, r, want.data());
      EXPECT_EQ(std::memcmp(got.data(), want.data(), count * sizeof(float)), 0)
          << sh.k << "x" << sh.k << "/" << sh.stride << " on " << sh.h << "x" << sh.w << "x" << sh.c << ", "
          << wastenet::activation_name(kind) << (r ? ", residual" : "");
    }
  }
}

TEST(DepthwiseSweep, HasTheBitsOfOnePixelAtATime) {
  if (!wastenet::kernel_path_supported(KernelPath::f16c)) GTEST_SKIP() << "this CPU has no AVX2 and FMA";
  std::mt19937 rng(77);
  // Widths that leave 8- and 4-pixel blocks, then 3, 2, 1 or no interior pixels; channel counts
  // with and without a tail past the last multiple of 8.
  const DepthwiseShape shapes[] = {{3, 1, 6, 23, 24}, {3, 1, 5, 14, 44}, {3, 1, 4, 7, 8},   {3, 1, 3, 4, 16},
                                   {5, 1, 6, 28, 24}, {5, 1, 7, 14, 40}, {5, 1, 7, 7, 16},  {5, 1, 5, 6, 12},
                                   {5, 1, 4, 9, 20},  {5, 2, 9, 31, 24}, {5, 2, 8, 14, 44}, {5, 2, 5, 13, 8}};
  for (const DepthwiseShape& sh : shapes) {
    const wastenet::kernels::ConvGeometry g = depthwise_geometry(sh);
    const std::size_t oh = g.oh, ow = g.ow;
    const auto in = random_vector(sh.h * sh.w * sh.c, rng, 2.f);
    const auto w = random_vector(sh.k * sh.k * sh.c, rng, 0.5f);
    const auto bias = random_vector(sh.c, rng, 0.5f);
    const auto res = random_vector(oh * ow * sh.c, rng, 1.f);
    expect_same_bits_for_each_epilogue(
        sh, oh * ow * sh.c, res.data(),
        [&](const Activation& act, const float* r, float* out) {
          wastenet::kernels::f32_dwconv_avx2(g, in.data(), out, 0, oh, w.data(), bias.data(), act, r);
        },
        [&](const Activation& act, const float* r, float* out) {
          wastenet::kernels::with_activation_avx2(act.kind, [&](auto a) {
            dwconv_one_pixel_at_a_time<decltype(a)::value>(g, in.data(), w.data(), bias.data(), act, r, out);
          });
        });
  }
}

// The AVX-512 depthwise kernel sweeps the interior 4 pixels at a time (then 3, 2 or 1) across all
// channels, kernel rows outside the image skipped; every output must have the bits of the one-pixel
// kernel, which adds the same taps in the same order, whatever the width, stride, channel tail,
// activation and residual.
template <std::size_t K, wastenet::kernels::EpilogueAct A>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma"))) void avx512_dwconv_one_pixel_at_a_time(
    const wastenet::kernels::ConvGeometry& g, const float* in, const float* w, std::size_t wstride, const float* bias,
    const Activation& act, const float* res, float* out) {
  namespace k = wastenet::kernels;
  for (std::size_t oy = 0; oy < g.oh; ++oy) {
    const std::ptrdiff_t iy0 = static_cast<std::ptrdiff_t>(oy * g.sh) - static_cast<std::ptrdiff_t>(g.ph);
    const std::size_t row = oy * g.ow * g.c;
    for (std::size_t c = 0; c < g.c; c += 16) {
      const __mmask16 m = k::lanes_avx512(g.c - c);
      __m512 wv[K * K];
      for (std::size_t t = 0; t < K * K; ++t) wv[t] = _mm512_load_ps(w + t * wstride + c);
      const __m512 b = _mm512_maskz_loadu_ps(m, bias + c);
      for (std::size_t ox = 0; ox < g.ow; ++ox) {
        k::dwconv_pixel_avx512<K, K, A>(in, g.w, g.c, g.h, iy0, ox, g.sw, g.pw, c, m, wv, b, act,
                                        res ? res + row : nullptr, out + row);
      }
    }
  }
}

TEST(DepthwiseSweep, Avx512HasTheBitsOfOnePixelAtATime) {
  if (!wastenet::kernel_path_supported(KernelPath::avx512)) GTEST_SKIP() << "this CPU has no AVX-512";
  std::mt19937 rng(78);
  // Interior widths leaving 4-pixel blocks and then 3, 2, 1 or none; channel counts with and
  // without a tail past the last multiple of 16; heights where the top and bottom rows (and, for
  // 5x5 on 2 rows, every row) lose kernel rows on both sides.
  const DepthwiseShape shapes[] = {{3, 1, 6, 23, 24}, {3, 1, 5, 14, 48}, {3, 1, 4, 7, 16},  {3, 1, 3, 5, 44},
                                   {3, 1, 3, 4, 8},   {3, 1, 2, 3, 16},  {3, 2, 7, 28, 32}, {3, 2, 6, 9, 20},
                                   {5, 1, 6, 28, 24}, {5, 1, 7, 14, 40}, {5, 1, 7, 7, 16},  {5, 1, 2, 6, 12},
                                   {5, 2, 9, 31, 24}, {5, 2, 8, 14, 48}, {5, 2, 5, 13, 8}};
  for (const DepthwiseShape& sh : shapes) {
    const wastenet::kernels::ConvGeometry g = depthwise_geometry(sh);
    const std::size_t oh = g.oh, ow = g.ow;
    const std::size_t wstride = (sh.c + 31) / 32 * 32;  // as Conv2d packs them
    const auto in = random_vector(sh.h * sh.w * sh.c, rng, 2.f);
    const auto w_rows = random_vector(sh.k * sh.k * wstride, rng, 0.5f);
    const std::vector<float, wastenet::AlignedAllocator<float>> w(w_rows.begin(), w_rows.end());
    const auto bias = random_vector(sh.c, rng, 0.5f);
    const auto res = random_vector(oh * ow * sh.c, rng, 1.f);
    // Each kernel size is its own template: the sweep's and the reference's.
    const auto by_size = [&](const Activation& act, auto run) {
      wastenet::kernels::with_epilogue_act(act.kind, [&](auto a) {
        if (sh.k == 3) run(std::integral_constant<std::size_t, 3>{}, a);
        else run(std::integral_constant<std::size_t, 5>{}, a);
      });
    };
    expect_same_bits_for_each_epilogue(
        sh, oh * ow * sh.c, res.data(),
        [&](const Activation& act, const float* r, float* out) {
          by_size(act, [&](auto k, auto a) {
            wastenet::kernels::f32_dwconv_fixed_avx512<decltype(k)::value, decltype(k)::value, decltype(a)::value>(
                g, in.data(), out, 0, oh, w.data(), wstride, bias.data(), act, r);
          });
        },
        [&](const Activation& act, const float* r, float* out) {
          by_size(act, [&](auto k, auto a) {
            avx512_dwconv_one_pixel_at_a_time<decltype(k)::value, decltype(a)::value>(g, in.data(), w.data(), wstride,
                                                                                     bias.data(), act, r, out);
          });
        });
  }
}

// Squeeze-and-excitation's two passes: AVX2 sums each channel in pixel order and scales each
// element once, as the portable loops do, so the bits agree; channel counts with and without
// 32- and 8-channel blocks and a tail.
TEST(ChannelPasses, Avx2HasTheBitsOfThePortableLoops) {
  if (!wastenet::kernel_path_supported(KernelPath::f16c)) GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937 rng(91);
  for (std::size_t C : {1, 7, 8, 20, 37, 64, 72, 1152}) {
    for (std::size_t pixels : {1, 5, 32}) {
      const auto x = random_vector(pixels * C, rng, 4.f);
      const auto gate = random_vector(C, rng, 1.f);
      const auto start = random_vector(C, rng, 10.f);  // a block's sums continue earlier ones
      std::vector<float> sums_avx2 = start, sums_portable = start;
      wastenet::kernels::add_channel_sums_avx2(x.data(), pixels, C, sums_avx2.data());
      wastenet::kernels::add_channel_sums_portable(x.data(), pixels, C, sums_portable.data());
      EXPECT_EQ(std::memcmp(sums_avx2.data(), sums_portable.data(), C * sizeof(float)), 0) << C << " channels x " << pixels;
      std::vector<float> scaled_avx2(x.size(), std::nanf("")), scaled_portable = x;  // the portable one in place
      wastenet::kernels::scale_channels_avx2(x.data(), pixels, C, gate.data(), scaled_avx2.data());
      wastenet::kernels::scale_channels_portable(scaled_portable.data(), pixels, C, gate.data(), scaled_portable.data());
      EXPECT_EQ(std::memcmp(scaled_avx2.data(), scaled_portable.data(), x.size() * sizeof(float)), 0)
          << C << " channels x " << pixels;
    }
  }
}
#endif

// The binary16 channel passes of FP16 networks (SE, global pooling) on every path this CPU runs:
// the bits of widening the pixels, the FP32 portable passes, and rounding each scaled element
// once. Channel counts with and without 64-, 32-, 16- and 8-channel blocks and a tail; pixel
// values include binary16 subnormals, so scaled outputs round into and out of that range.
class HalfChannelPasses : public ::testing::TestWithParam<KernelPath> {};

TEST_P(HalfChannelPasses, HaveTheBitsOfTheWidenedFp32Passes) {
  const KernelPath path = GetParam();
  std::mt19937 rng(92);
  for (std::size_t C : {1, 7, 8, 20, 37, 64, 72, 120, 1152}) {
    for (std::size_t pixels : {1, 5, 32}) {
      std::vector<float> x = rounded_to_half(random_vector(pixels * C, rng, 4.f));
      for (std::size_t i = 0; i < x.size(); i += 3) x[i] = static_cast<float>(wastenet::half(x[i] * 1e-5f));
      const std::vector<wastenet::half> xh = to_half(x);
      const auto gate = random_vector(C, rng, 1.f);
      const auto start = random_vector(C, rng, 10.f);  // a block's sums continue earlier ones
      std::vector<float> sums = start, expected_sums = start;
      wastenet::kernels::add_channel_sums(path, xh.data(), pixels, C, sums.data());
      wastenet::kernels::add_channel_sums_portable(x.data(), pixels, C, expected_sums.data());
      EXPECT_EQ(std::memcmp(sums.data(), expected_sums.data(), C * sizeof(float)), 0)
          << C << " channels x " << pixels << " on " << wastenet::kernel_path_name(path);

      std::vector<float> product(x.size());
      wastenet::kernels::scale_channels_portable(x.data(), pixels, C, gate.data(), product.data());
      std::vector<wastenet::half> scaled(x.size()), in_place = xh;
      wastenet::kernels::scale_channels(path, xh.data(), pixels, C, gate.data(), scaled.data());
      wastenet::kernels::scale_channels(path, in_place.data(), pixels, C, gate.data(), in_place.data());
      for (std::size_t i = 0; i < x.size(); ++i) {
        const std::uint16_t expected = wastenet::float_to_half_bits(product[i]);
        ASSERT_EQ(scaled[i].bits, expected) << "element " << i << " of " << C << " channels x " << pixels << " on "
                                            << wastenet::kernel_path_name(path);
        ASSERT_EQ(in_place[i].bits, expected) << "in place, element " << i << " of " << C << " channels x " << pixels;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, HalfChannelPasses, ::testing::ValuesIn(supported_paths()),
                         [](const auto& info) { return std::string(wastenet::kernel_path_name(info.param)); });

// The avx512fp16 path's 1x1 convolution of FP16 layers sums binary16 products in runs of 32
// channels (f16_avx512fp16.hpp). Shapes cover whole and partial row tiles (1 to 100 rows), panels of
// 16, 24, 40 and 70 columns (masked last panels) and K from 3 to 1152 (one run to 36).
struct HalfGemmCase {
  std::size_t rows, cin, cout;
};
const HalfGemmCase half_gemm_cases[] = {{1, 3, 16}, {5, 24, 24}, {7, 45, 40}, {13, 144, 70}, {100, 32, 144},
                                        {49, 1152, 40}, {20, 320, 1280}};

// One FP16 1x1 layer on `path`, its input, weights and bias already binary16 values; `residual` optional.
std::vector<wastenet::half> run_half_layer(KernelPath path, const HalfGemmCase& c, const std::vector<float>& in,
                                           const std::vector<float>& weight, const std::vector<float>& bias,
                                           ActKind act, const std::vector<wastenet::half>* residual) {
  wastenet::set_kernel_path(path);
  const ConvParams p = conv(c.cin, c.cout, 1, 1, 0);
  const wastenet::Conv2d layer(p, weight, bias, nullptr, Activation{act}, wastenet::Precision::fp16);
  const std::vector<wastenet::half> x = to_half(in);
  std::vector<wastenet::half> out(c.rows * c.cout);
  wastenet::ThreadPool pool(2);
  layer.forward_fp16(x.data(), Shape4{1, 1, c.rows, c.cin}, out.data(), residual ? residual->data() : nullptr, pool);
  wastenet::reset_kernel_path();
  return out;
}

// With small integers every product and every run of 32 is exact in binary16 (at most 32 x 9),
// and the FP32 sums of the runs are exact too, so binary16 arithmetic must give the bits of the
// avx512 path's FP32 accumulation, through every activation's epilogue and the residual. With
// positive integers the sums over K = 1152 reach 10,000, past 2048, where binary16 stops holding
// every integer: a binary16 sum over much more than 200 channels would fail there.
TEST(Avx512Fp16Gemm, EqualsFp32AccumulationWhereEverySumIsExact) {
  if (!wastenet::kernel_path_supported(KernelPath::avx512fp16)) GTEST_SKIP() << "this CPU has no AVX512-FP16";
  std::mt19937 rng(5);
  for (const auto& [lowest, highest] : {std::pair{-3, 3}, std::pair{1, 3}}) {
    std::uniform_int_distribution<int> small(lowest, highest);
    auto integers = [&](std::size_t n) {
      std::vector<float> v(n);
      for (float& f : v) f = static_cast<float>(small(rng));
      return v;
    };
    for (const HalfGemmCase& c : half_gemm_cases) {
      const auto in = integers(c.rows * c.cin), weight = integers(c.cout * c.cin), bias = integers(c.cout);
      std::vector<wastenet::half> residual(c.rows * c.cout);
      for (auto& h : residual) h = wastenet::half(static_cast<float>(small(rng)) / 4.f);
      for (ActKind act : {ActKind::identity, ActKind::relu6, ActKind::silu, ActKind::hardswish}) {
        const std::vector<wastenet::half>* no_residual = nullptr;
        for (const std::vector<wastenet::half>* res : {no_residual, &std::as_const(residual)}) {
          const auto want = run_half_layer(KernelPath::avx512, c, in, weight, bias, act, res);
          const auto got = run_half_layer(KernelPath::avx512fp16, c, in, weight, bias, act, res);
          ASSERT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(wastenet::half)), 0)
              << c.rows << " rows, " << c.cin << "->" << c.cout << ", " << wastenet::activation_name(act)
              << (res ? ", residual" : "") << ", integers from " << lowest;
        }
      }
    }
  }
}

// On random data the error is bounded by the design: each of the at most 32 fused multiply-adds
// of a run rounds once, by at most 2^-11 of the running sum, which is at most the run's sum of
// |a_k w_k|. So the result lies within 32 x 2^-11 x sum_k |a_k w_k| of the exact value, plus the
// final rounding to binary16 (2^-11 of the value) and 1e-7 for the FP32 additions of the runs.
// The bound is checked against the exact sum (in double) of the binary16 inputs, and the path must
// not be the avx512 path in disguise: some output must differ from it.
TEST(Avx512Fp16Gemm, StaysWithinTheBoundOfRunsOf32) {
  if (!wastenet::kernel_path_supported(KernelPath::avx512fp16)) GTEST_SKIP() << "this CPU has no AVX512-FP16";
  std::mt19937 rng(6);
  std::size_t differing = 0;
  double worst = 0;
  for (const HalfGemmCase& c : half_gemm_cases) {
    const auto in = rounded_to_half(random_vector(c.rows * c.cin, rng, 2.f));
    const auto weight = rounded_to_half(random_vector(c.cout * c.cin, rng, 2.f / std::sqrt(static_cast<float>(c.cin))));
    const auto bias = rounded_to_half(random_vector(c.cout, rng, 0.5f));
    const auto got = run_half_layer(KernelPath::avx512fp16, c, in, weight, bias, ActKind::identity, nullptr);
    const auto fp32_acc = run_half_layer(KernelPath::avx512, c, in, weight, bias, ActKind::identity, nullptr);
    for (std::size_t r = 0; r < c.rows; ++r) {
      for (std::size_t o = 0; o < c.cout; ++o) {
        double exact = bias[o], magnitude = std::fabs(bias[o]);
        for (std::size_t k = 0; k < c.cin; ++k) {
          const double prod = static_cast<double>(in[r * c.cin + k]) * weight[o * c.cin + k];
          exact += prod;
          magnitude += std::fabs(prod);
        }
        const double value = static_cast<float>(got[r * c.cout + o]);
        const double bound = 32.0 * std::ldexp(magnitude, -11) + std::ldexp(std::fabs(exact), -11) + 1e-7;
        worst = std::max(worst, std::fabs(value - exact) / bound);
        ASSERT_LE(std::fabs(value - exact), bound) << c.rows << " rows, " << c.cin << "->" << c.cout << ", row " << r
                                                   << " column " << o;
        differing += got[r * c.cout + o].bits != fp32_acc[r * c.cout + o].bits;
      }
    }
  }
  RecordProperty("worst_error_over_bound", std::to_string(worst));
  EXPECT_GT(differing, 0u);
}

// The undilated 3x3 and 5x5 depthwise cases of conv_cases: on the avx512fp16 path their FP16
// layers sum each kernel row's taps in binary16.
std::vector<ConvCase> half_depthwise_cases() {
  std::vector<ConvCase> cases;
  for (const ConvCase& c : conv_cases()) {
    if (sums_taps_in_half(c.p)) cases.push_back(c);
  }
  return cases;
}

// One FP16 depthwise layer on `path` (input, weights and bias already binary16 values).
std::vector<wastenet::half> run_half_depthwise(KernelPath path, const ConvCase& c, const std::vector<float>& in,
                                               const std::vector<float>& weight, const std::vector<float>& bias,
                                               ActKind act, const std::vector<wastenet::half>* residual,
                                               std::size_t threads) {
  wastenet::set_kernel_path(path);
  const wastenet::Conv2d layer(c.p, weight, bias, nullptr, Activation{act, 0.1f}, wastenet::Precision::fp16);
  const Shape4 in_shape{c.n, c.h, c.w, c.p.in_channels};
  const std::vector<wastenet::half> x = to_half(in);
  std::vector<wastenet::half> out(layer.output_shape(in_shape).count(), wastenet::half::from_bits(0x7E00));
  wastenet::ThreadPool pool(threads);
  layer.forward_fp16(x.data(), in_shape, out.data(), residual ? residual->data() : nullptr, pool);
  wastenet::reset_kernel_path();
  return out;
}

// With small integers every product and every partial sum of a kernel row's taps is an integer of
// at most 45, exact in binary16, and so are the FP32 sums of the rows: the binary16 taps must give
// the bits of the avx512 path's FP32 kernel through every activation's epilogue, the residual, the
// border pixels and any row split.
TEST(Avx512Fp16Depthwise, EqualsFp32AccumulationWhereEverySumIsExact) {
  if (!wastenet::kernel_path_supported(KernelPath::avx512fp16)) GTEST_SKIP() << "this CPU has no AVX512-FP16";
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> small(-3, 3);
  auto integers = [&](std::size_t n) {
    std::vector<float> v(n);
    for (float& f : v) f = static_cast<float>(small(rng));
    return v;
  };
  const auto cases = half_depthwise_cases();
  ASSERT_EQ(cases.size(), 8u);
  for (const ConvCase& c : cases) {
    const std::size_t taps = c.p.kernel_h * c.p.kernel_w;
    const auto in = integers(c.n * c.h * c.w * c.p.in_channels), weight = integers(c.p.out_channels * taps);
    const auto bias = integers(c.p.out_channels);
    const Shape4 o = wastenet::Conv2d(c.p, weight, bias, nullptr, Activation{}).output_shape({c.n, c.h, c.w, c.p.in_channels});
    std::vector<wastenet::half> residual(o.count());
    for (auto& h : residual) h = wastenet::half(static_cast<float>(small(rng)) / 4.f);
    for (ActKind act : all_activations) {
      const std::vector<wastenet::half>* no_residual = nullptr;
      for (const std::vector<wastenet::half>* res : {no_residual, &std::as_const(residual)}) {
        const auto want = run_half_depthwise(KernelPath::avx512, c, in, weight, bias, act, res, 1);
        for (std::size_t threads : {1, 3}) {
          const auto got = run_half_depthwise(KernelPath::avx512fp16, c, in, weight, bias, act, res, threads);
          ASSERT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(wastenet::half)), 0)
              << c.name << ", " << wastenet::activation_name(act) << (res ? ", residual" : "") << ", threads " << threads;
        }
      }
    }
  }
}

// On random data each of a kernel row's KW binary16 fused multiply-adds rounds once, by at most
// 2^-11 of the running sum, which is at most the row's sum of |x w|: the result lies within
// KW x 2^-11 x sum |x w| (over all taps) of the exact value, plus the final rounding (2^-11 of the
// value) and KH x 2^-24 x sum |x w| for the FP32 additions of the rows. Checked against the exact
// sum (in double) of the binary16 inputs; and some output must differ from the avx512 path's FP32
// kernel.
TEST(Avx512Fp16Depthwise, StaysWithinTheBoundOfItsRowSums) {
  if (!wastenet::kernel_path_supported(KernelPath::avx512fp16)) GTEST_SKIP() << "this CPU has no AVX512-FP16";
  std::mt19937 rng(8);
  std::size_t differing = 0;
  double worst = 0;
  auto abs_all = [](std::vector<float> v) {
    for (float& x : v) x = std::fabs(x);
    return v;
  };
  for (const ConvCase& c : half_depthwise_cases()) {
    const std::size_t taps = c.p.kernel_h * c.p.kernel_w;
    const auto in = rounded_to_half(random_vector(c.n * c.h * c.w * c.p.in_channels, rng, 2.f));
    const auto weight = rounded_to_half(random_vector(c.p.out_channels * taps, rng, 2.f / std::sqrt(static_cast<float>(taps))));
    const auto bias = rounded_to_half(random_vector(c.p.out_channels, rng, 0.5f));
    const auto got = run_half_depthwise(KernelPath::avx512fp16, c, in, weight, bias, ActKind::identity, nullptr, 2);
    const auto fp32_taps = run_half_depthwise(KernelPath::avx512, c, in, weight, bias, ActKind::identity, nullptr, 2);
    const Shape4 o = wastenet::Conv2d(c.p, weight, bias, nullptr, Activation{}).output_shape({c.n, c.h, c.w, c.p.in_channels});
    const auto exact = reference_conv(c, o, in, weight, bias);
    const auto magnitude = reference_conv(c, o, abs_all(in), abs_all(weight), std::vector<float>(c.p.out_channels, 0.f));
    for (std::size_t i = 0; i < exact.size(); ++i) {
      const double value = static_cast<float>(got[i]);
      const double bound = static_cast<double>(c.p.kernel_w) * std::ldexp(magnitude[i], -11) +
                           std::ldexp(std::fabs(exact[i]), -11) + static_cast<double>(c.p.kernel_h) * std::ldexp(magnitude[i], -24);
      worst = std::max(worst, std::fabs(value - exact[i]) / bound);
      ASSERT_LE(std::fabs(value - exact[i]), bound) << c.name << ", output " << i;
      differing += got[i].bits != fp32_taps[i].bits;
    }
  }
  RecordProperty("worst_error_over_bound", std::to_string(worst));
  EXPECT_GT(differing, 0u);
}

#if WASTENET_X86_KERNELS
// The GEMMs prefetch the next weight panel while the current one serves its tiles, one cache line
// per k of each tile. The tiles' shares must cover the whole next panel, each line once and in
// order, and (with at least two tiles) need at most K lines from any one tile; a missing share or
// an overlap would leave part of the panel to be waited on, or fetch it twice.
TEST(PanelPrefetch, TheTilesSharesCoverTheNextPanelOnce) {
  using wastenet::kernels::panel_prefetch_share;
  alignas(64) static const char panel[1152 * 32 * sizeof(float)] = {};
  for (std::size_t K : {1u, 3u, 16u, 24u, 320u, 1152u}) {
    for (std::size_t element : {sizeof(float), sizeof(std::uint16_t)}) {
      const std::size_t bytes = K * 32 * element, lines = (bytes + 63) / 64;
      for (std::size_t tiles = 1; tiles <= 14; ++tiles) {
        std::size_t next_line = 0;
        for (std::size_t t = 0; t < tiles; ++t) {
          const auto share = panel_prefetch_share(panel, bytes, t, tiles);
          if (share.lines == 0) continue;
          EXPECT_EQ(share.from, panel + next_line * 64) << "K " << K << ", tile " << t << " of " << tiles;
          if (tiles >= 2) {
            EXPECT_LE(share.lines, K) << "K " << K << ", tile " << t << " of " << tiles;
          }
          next_line += share.lines;
        }
        EXPECT_EQ(next_line, lines) << "K " << K << ", " << element << "-byte weights, " << tiles << " tiles";
      }
      EXPECT_EQ(panel_prefetch_share(nullptr, bytes, 0, 7).lines, 0u);
    }
  }
}
#endif

TEST(KernelDispatch, UnsupportedPathIsATypedError) {
  for (KernelPath p : {KernelPath::avx512fp16, KernelPath::avx512, KernelPath::f16c}) {
    if (wastenet::kernel_path_supported(p)) continue;
    EXPECT_THROW(wastenet::set_kernel_path(p), wastenet::ArgumentError) << wastenet::kernel_path_name(p);
    return;
  }
  GTEST_SKIP() << "this CPU supports every kernel path";
}

TEST(KernelDispatch, ForcedPathIsUsedAndResetRestoresTheDefault) {
  wastenet::set_kernel_path(KernelPath::portable);
  EXPECT_EQ(wastenet::kernel_path(), KernelPath::portable);
  wastenet::reset_kernel_path();
  if (std::getenv("WASTENET_KERNELS") == nullptr) {
    EXPECT_EQ(wastenet::kernel_path(), wastenet::best_kernel_path());
  }
}

}  // namespace
