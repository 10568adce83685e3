// wastenet/kernels/dispatch.hpp - which kernel family runs: chosen at run time from the CPU, so a
// binary built once (without -march flags) runs on any x86-64 and uses what the CPU has.
//
// Operators consult kernel_path() when they are created (weights are packed for that path), so a
// test or benchmark forces a path with set_kernel_path() before loading a model, or with the
// environment variable WASTENET_KERNELS=portable|f16c|avx512|avx512fp16.
//
//   wastenet::set_kernel_path(wastenet::KernelPath::portable);   // the reference kernels
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "wastenet/error.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WASTENET_X86_KERNELS 1
#include <cpuid.h>
#else
#define WASTENET_X86_KERNELS 0
#endif

namespace wastenet {

enum class KernelPath {
  portable,  // plain C++ and Eigen: every CPU, the specification the others are tested against
  avx512,    // AVX-512F (+BW, VL, DQ) and FMA intrinsics; FP16 storage converted with AVX-512F's vcvtph2ps
  f16c,      // AVX2 + FMA CPUs: the AVX2 FP32 kernels (f32_avx2.hpp); FP16 storage converted with F16C
  // AVX-512 CPUs with AVX512-FP16 (Sapphire Rapids and later): the avx512 path, except that the 1x1
  // convolutions of FP16 networks multiply in binary16 (f16_avx512fp16.hpp). FP32 networks run
  // exactly as on avx512.
  avx512fp16,
};

inline const char* kernel_path_name(KernelPath p) noexcept {
  switch (p) {
    case KernelPath::avx512: return "avx512";
    case KernelPath::avx512fp16: return "avx512fp16";
    case KernelPath::f16c: return "f16c";
    default: return "portable";
  }
}

/// True for the paths that run the AVX-512 FP32 kernels (f32_avx512.hpp).
inline bool uses_avx512(KernelPath p) noexcept { return p == KernelPath::avx512 || p == KernelPath::avx512fp16; }

namespace detail {
/// CPUID.1:ECX bit 29 (Clang 14's __builtin_cpu_supports does not know "f16c").
inline bool cpu_has_f16c() noexcept {
#if WASTENET_X86_KERNELS
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
#else
  return false;
#endif
}

/// CPUID.(EAX=7,ECX=0):EDX bit 23, AVX512-FP16 (GCC 12's and Clang 14's __builtin_cpu_supports
/// do not agree on its name). Its zmm state is AVX-512F's, which the caller checks too.
inline bool cpu_has_avx512fp16() noexcept {
#if WASTENET_X86_KERNELS
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (edx & (1u << 23)) != 0;
#else
  return false;
#endif
}
}  // namespace detail

/// True if this CPU can run `p`.
inline bool kernel_path_supported(KernelPath p) noexcept {
  if (p == KernelPath::portable) return true;
#if WASTENET_X86_KERNELS
  __builtin_cpu_init();
  if (p == KernelPath::f16c) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && detail::cpu_has_f16c();
  }
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("fma");
  if (p == KernelPath::avx512fp16) return avx512 && detail::cpu_has_avx512fp16();
  return avx512;
#else
  return false;
#endif
}

/// The fastest path this CPU supports.
inline KernelPath best_kernel_path() noexcept {
  if (kernel_path_supported(KernelPath::avx512fp16)) return KernelPath::avx512fp16;
  if (kernel_path_supported(KernelPath::avx512)) return KernelPath::avx512;
  return kernel_path_supported(KernelPath::f16c) ? KernelPath::f16c : KernelPath::portable;
}

namespace detail {
inline std::atomic<int>& kernel_path_override() {
  static std::atomic<int> value{-1};
  return value;
}
}  // namespace detail

/// Forces `p` for operators created from now on. Throws ArgumentError if the CPU lacks it.
inline void set_kernel_path(KernelPath p) {
  if (!kernel_path_supported(p)) {
    throw ArgumentError(std::string("kernel path '") + kernel_path_name(p) + "' is not supported by this CPU");
  }
  detail::kernel_path_override().store(static_cast<int>(p));
}

/// Returns to automatic selection.
inline void reset_kernel_path() noexcept { detail::kernel_path_override().store(-1); }

/// The path operators created now use: set_kernel_path(), else $WASTENET_KERNELS, else the best.
inline KernelPath kernel_path() {
  const int forced = detail::kernel_path_override().load();
  if (forced >= 0) return static_cast<KernelPath>(forced);
  if (const char* env = std::getenv("WASTENET_KERNELS")) {
    if (std::strcmp(env, "portable") == 0) return KernelPath::portable;
    if (std::strcmp(env, "avx512") == 0 && kernel_path_supported(KernelPath::avx512)) return KernelPath::avx512;
    if (std::strcmp(env, "avx512fp16") == 0 && kernel_path_supported(KernelPath::avx512fp16)) {
      return KernelPath::avx512fp16;
    }
    if (std::strcmp(env, "f16c") == 0 && kernel_path_supported(KernelPath::f16c)) return KernelPath::f16c;
  }
  return best_kernel_path();
}

}  // namespace wastenet
