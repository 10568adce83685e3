// wastenet/nn/dense.hpp - a dense product y[m] = act(x[m] W + b) for few rows m, the kernel behind
// the classifier's Linear layers and the squeeze-and-excitation FCs. Weights are packed once for the
// kernel path chosen at creation: the AVX-512 GEMM's 32-column panels, or [K][N] for the portable
// Eigen GEMM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "wastenet/kernels/convert.hpp"
#include "wastenet/kernels/dispatch.hpp"
#include "wastenet/kernels/generic.hpp"
#include "wastenet/kernels/portable.hpp"
#include "wastenet/kernels/x86/f32_avx512.hpp"
#include "wastenet/nn/activation.hpp"
#include "wastenet/precision.hpp"
#include "wastenet/tensor.hpp"

namespace wastenet {

class DenseProduct {
 public:
  DenseProduct() = default;
  /// `w_out_in` in PyTorch's layout [N][K]; `bias` [N]. fp16 rounds the weights to binary16.
  DenseProduct(std::size_t K, std::size_t N, const std::vector<float>& w_out_in, std::vector<float> bias, Activation act,
               Precision precision = Precision::fp32)
      : K_(K), N_(N), bias_(std::move(bias)), act_(act), path_(kernel_path()) {
    std::vector<float> kn(K * N);
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t k = 0; k < K; ++k) kn[k * N + n] = w_out_in[n * K + k];
    if (precision == Precision::fp16) kernels::round_to_half(kn.data(), kn.size());
#if WASTENET_X86_KERNELS
    if (uses_avx512(path_)) {
      packed_.assign((N + kernels::avx512_gemm_nr - 1) / kernels::avx512_gemm_nr * kernels::avx512_gemm_nr * K, 0.f);
      kernels::pack_gemm_weights_avx512(kn.data(), K, N, packed_.data());
      if (precision == Precision::fp16) {  // FP16 networks keep their weights as binary16
        packed_half_.resize(packed_.size());
        kernels::panels_to_half(packed_.data(), packed_.size(), packed_half_.data());
        decltype(packed_)().swap(packed_);  // release the FP32 panels
      }
      return;
    }
#endif
    kernels::pack_gemm_weights(path_, kn.data(), K, N, packed_);
  }

  /// y[rows][N] = act(x[rows][K] W + b).
  void run(const float* x, float* y, std::size_t rows) const {
#if WASTENET_X86_KERNELS
    if (uses_avx512(path_)) {
      if (!packed_half_.empty()) {
        kernels::f32_gemm_7x32_avx512(x, y, 0, rows, K_, N_, packed_half_.data(), bias_.data(), act_, nullptr);
      } else {
        kernels::f32_gemm_7x32_avx512(x, y, 0, rows, K_, N_, packed_.data(), bias_.data(), act_, nullptr);
      }
      return;
    }
#endif
    kernels::f32_gemm_epilogue(path_, x, y, 0, rows, K_, N_, packed_.data(), bias_.data(), act_, nullptr);
  }

  std::size_t parameter_bytes() const noexcept {
    return (packed_.size() + bias_.size()) * sizeof(float) + packed_half_.size() * sizeof(std::uint16_t);
  }

 private:
  std::size_t K_ = 0, N_ = 0;
  std::vector<float, AlignedAllocator<float>> packed_;
  std::vector<std::uint16_t, AlignedAllocator<std::uint16_t>> packed_half_;  // AVX-512 panels of FP16 layers
  std::vector<float> bias_;
  Activation act_;
  KernelPath path_ = KernelPath::portable;
};

}  // namespace wastenet
