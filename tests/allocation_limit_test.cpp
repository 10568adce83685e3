// How much memory a model file can make the library allocate: a documented multiple of its size.
//
// Every allocation in this program is counted: the binary is linked with --wrap for malloc and
// friends (the library is header-only, so its calls are compiled into this program) and replaces
// operator new. The test loads each architecture, plans the workspace for the largest input size a
// file may ask for and classifies one image at that size, and checks the peak number of bytes in use
// against max_allocation_factor x the file size (see docs/architecture.md, "Limits").
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "wastenet/half.hpp"
#include "wastenet/io/safetensors.hpp"
#include "wastenet/models/model.hpp"
#include "wastenet/parallel.hpp"

namespace {
std::atomic<long long> g_in_use{0};
std::atomic<long long> g_peak{0};
std::atomic<long long> g_allocations{0};  // successful allocation calls

void count_alloc(void* p) {
  if (!p) return;
  g_allocations.fetch_add(1);
  const long long now = g_in_use.fetch_add(static_cast<long long>(malloc_usable_size(p))) +
                        static_cast<long long>(malloc_usable_size(p));
  long long peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}
void count_free(void* p) {
  if (p) g_in_use.fetch_sub(static_cast<long long>(malloc_usable_size(p)));
}
}  // namespace

extern "C" {
void* __real_malloc(std::size_t);
void* __real_calloc(std::size_t, std::size_t);
void* __real_realloc(void*, std::size_t);
void* __real_aligned_alloc(std::size_t, std::size_t);
int __real_posix_memalign(void**, std::size_t, std::size_t);
void __real_free(void*);

void* __wrap_malloc(std::size_t n) {
  void* p = __real_malloc(n);
  count_alloc(p);
  return p;
}
void* __wrap_calloc(std::size_t n, std::size_t m) {
  void* p = __real_calloc(n, m);
  count_alloc(p);
  return p;
}
void* __wrap_realloc(void* old, std::size_t n) {
  count_free(old);
  void* p = __real_realloc(old, n);
  if (!p && n) count_alloc(old);  // the old block is still there
  count_alloc(p);
  return p;
}
void* __wrap_aligned_alloc(std::size_t a, std::size_t n) {
  void* p = __real_aligned_alloc(a, n);
  count_alloc(p);
  return p;
}
int __wrap_posix_memalign(void** out, std::size_t a, std::size_t n) {
  const int rc = __real_posix_memalign(out, a, n);
  if (rc == 0) count_alloc(*out);
  return rc;
}
void __wrap_free(void* p) {
  count_free(p);
  __real_free(p);
}
}

// The replacements below pair malloc with free on purpose; GCC cannot see that they are a pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  const std::size_t al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (std::max<std::size_t>(n, 1) + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

using wastenet::test::ref_dir;

// Bytes in use at the peak of `fn`, above what was in use before it.
template <class F>
long long peak_bytes_of(F&& fn) {
  const long long before = g_in_use.load();
  g_peak.store(before);
  fn();
  return g_peak.load() - before;
}

// A copy of a reference model with its metadata's input_size set to `size` and, if `to_f16`, its
// float32 tensors stored as float16 (as the bundled model is): half the file for the same network.
std::string rewrite_model(const std::string& src, const std::string& dst, std::size_t size, bool to_f16) {
  const auto file = wastenet::SafetensorsFile::open(src);
  std::vector<wastenet::TensorBlob> blobs;
  for (const auto& t : file.tensors()) {
    if (to_f16 && t.dtype == wastenet::DType::f32) {
      blobs.push_back(wastenet::make_tensor_blob(t.name, t.shape, file.to_float(t), wastenet::DType::f16));
    } else {
      blobs.push_back({t.name, t.dtype, t.shape, file.raw_bytes(t)});
    }
  }
  auto meta = file.metadata();
  meta["input_size"] = std::to_string(size);
  wastenet::write_safetensors(dst, blobs, meta);
  return dst;
}

struct Measured {
  std::size_t file_bytes;
  long long load_peak, run_peak;
};

// Peak allocation while loading `path`, and while planning and running one image at its input size.
Measured measure(const std::string& path) {
  Measured m{};
  wastenet::Model model;
  const long long before = g_in_use.load();
  m.load_peak = peak_bytes_of([&] { model = wastenet::load_model(path); });
  const long long retained = g_in_use.load() - before;  // the packed network
  m.file_bytes = model.info.file_bytes;
  const std::size_t s = model.info.input_size;
  wastenet::ThreadPool pool(1);
  m.run_peak = peak_bytes_of([&] {
    wastenet::Network::Workspace ws;
    wastenet::Tensor<float> input(wastenet::Shape4{1, s, s, 3});
    std::fill(input.data(), input.data() + input.size(), 0.5f);
    const auto out = model.network.forward(input, ws, pool);
    ASSERT_EQ(out.size(), model.info.num_classes);
  });
  m.run_peak += retained;
  return m;
}

TEST(AllocationLimit, EveryArchitectureAtItsLargestInputStaysUnderTheDocumentedFactor) {
  const std::string dir = std::string(WASTENET_TEST_DATA) + "/alloc";
  std::system(("mkdir -p " + dir).c_str());
  double worst = 0;
  std::string worst_name;
  std::printf("%-22s %5s %4s %10s %10s %10s %6s\n", "arch", "size", "type", "file", "load peak", "run peak", "ratio");
  for (const std::string& arch : wastenet::architectures()) {
    const std::size_t size = wastenet::default_input_size(arch);
    const std::string ref = ref_dir() + "/" + arch + "_" + std::to_string(size) + ".safetensors";
    ASSERT_TRUE(wastenet::test::exists(ref)) << "reference missing: " << ref;
    for (bool f16 : {false, true}) {
      const std::string path = rewrite_model(ref, dir + "/" + arch + (f16 ? "_f16" : "_f32") + ".safetensors",
                                             wastenet::max_input_size(arch), f16);
      const Measured m = measure(path);
      const double ratio = static_cast<double>(std::max(m.load_peak, m.run_peak)) / static_cast<double>(m.file_bytes);
      std::printf("%-22s %5zu %4s %10zu %10lld %10lld %6.2f\n", arch.c_str(), wastenet::max_input_size(arch),
                  f16 ? "f16" : "f32", m.file_bytes, m.load_peak, m.run_peak, ratio);
      if (ratio > worst) worst = ratio, worst_name = arch + (f16 ? " (f16)" : " (f32)");
      EXPECT_LE(ratio, wastenet::max_allocation_factor) << arch << (f16 ? " f16" : " f32");
      std::remove(path.c_str());
    }
  }
  std::printf("largest ratio: %.2f (%s); documented factor %.0f\n", worst, worst_name.c_str(),
              wastenet::max_allocation_factor);
}

// Once a workspace is planned and each thread's scratch has grown, a forward pass allocates only
// the logits it returns: every architecture, both precisions, on 1 and 2 threads (the pool's
// worker has scratch of its own), fused and unfused.
TEST(AllocationLimit, ARepeatedForwardPassAllocatesOnlyItsResult) {
  for (const std::string& arch : wastenet::architectures()) {
    const std::size_t size = wastenet::default_input_size(arch);
    if (size > 300) continue;  // b3 and up: the same code at larger sizes, and slow under sanitizers
    const std::string ref = ref_dir() + "/" + arch + "_" + std::to_string(size) + ".safetensors";
    ASSERT_TRUE(wastenet::test::exists(ref)) << "reference missing: " << ref;
    for (const auto precision : {wastenet::Precision::fp32, wastenet::Precision::fp16}) {
      wastenet::LoadOptions options;
      options.precision = precision;
      const wastenet::Model model = wastenet::load_model(ref, options);
      wastenet::Tensor<float> input(wastenet::Shape4{1, size, size, 3});
      std::fill(input.data(), input.data() + input.size(), 0.25f);
      for (std::size_t threads : {1, 2}) {
        for (bool fusion : {true, false}) {
          wastenet::ThreadPool pool(threads);
          wastenet::Network::Workspace ws;
          ws.fusion = fusion;
          for (int warm = 0; warm < 2; ++warm) (void)model.network.forward(input, ws, pool);
          const long long before = g_allocations.load();
          const auto out = model.network.forward(input, ws, pool);
          EXPECT_EQ(g_allocations.load() - before, 1)
              << arch << (precision == wastenet::Precision::fp16 ? " fp16, " : " fp32, ") << threads
              << " threads, fusion " << fusion;
          ASSERT_EQ(out.size(), model.info.num_classes);
        }
      }
    }
  }
}

TEST(AllocationLimit, InputSizeAboveTwiceTheDefaultIsRefused) {
  const std::string ref = ref_dir() + "/mobilenet_v3_small_224.safetensors";
  ASSERT_TRUE(wastenet::test::exists(ref)) << "reference missing: " << ref;
  const std::string path = rewrite_model(ref, std::string(WASTENET_TEST_DATA) + "/alloc_huge_input.safetensors", 449, false);
  try {
    (void)wastenet::load_model(path);
    ADD_FAILURE() << "input_size 449 was accepted";
  } catch (const wastenet::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("from 32 to 448"), std::string::npos) << e.what();
  }
}

TEST(AllocationLimit, LoadingReadsTensorsOneAtATime) {
  // Loading streams tensor data from disk: the peak while loading stays below the packed weights
  // plus the file, which is what holding the whole file in memory would cost.
  const std::string ref = ref_dir() + "/efficientnet_b0_224.safetensors";
  ASSERT_TRUE(wastenet::test::exists(ref)) << "reference missing: " << ref;
  wastenet::Model model;
  const long long peak = peak_bytes_of([&] { model = wastenet::load_model(ref); });
  const long long packed = static_cast<long long>(model.network.parameter_bytes());
  EXPECT_LT(peak, packed + static_cast<long long>(model.info.file_bytes) / 2)
      << "peak " << peak << " packed " << packed << " file " << model.info.file_bytes;
}

}  // namespace
