// wastenet/parallel.hpp - a small fixed thread pool for splitting one layer's work.
//
// The calling thread takes a share of the work too, so `ThreadPool(2)` starts one worker on a
// 2-core machine and never oversubscribes. One parallel section runs at a time per pool; a
// second caller that finds the pool busy (another request on the same model) runs its loop on
// its own thread instead of waiting, so concurrent classify() calls never block each other.
//
//   wastenet::ThreadPool pool(2);
//   pool.parallel_for(rows, [&](std::size_t begin, std::size_t end) { ... });
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace wastenet {

/// A non-owning reference to a callable taking (begin, end): ThreadPool::parallel_for's job, valid
/// while that call runs. Unlike std::function it never allocates: the layers' lambdas capture
/// more than std::function holds in place, and it allocated once per layer, about 50 times per
/// image (AllocationLimit.ARepeatedForwardPassAllocatesOnlyItsResult).
class RangeFn {
 public:
  template <class F>
  explicit RangeFn(F& f) noexcept
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, std::size_t b, std::size_t e) { (*static_cast<F*>(o))(b, e); }) {}
  void operator()(std::size_t begin, std::size_t end) const { call_(obj_, begin, end); }

 private:
  void* obj_;
  void (*call_)(void*, std::size_t, std::size_t);
};

class ThreadPool {
 public:
  /// `threads` counts the caller: 1 means no worker threads at all.
  explicit ThreadPool(std::size_t threads = 1) : threads_(std::max<std::size_t>(1, threads)) {
    for (std::size_t i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t threads() const noexcept { return threads_; }

  /// Calls f(begin, end) over contiguous chunks covering [0, n), at most one chunk per thread,
  /// each chunk a multiple of `grain` (except the last). Returns when all chunks are done.
  template <class F>
  void parallel_for(std::size_t n, F&& f, std::size_t grain = 1) {
    if (n == 0) return;
    const RangeFn fn(f);
    grain = std::max<std::size_t>(1, grain);
    const std::size_t units = (n + grain - 1) / grain;
    const std::size_t parts = std::min(threads_, units);
    std::unique_lock<std::mutex> busy(section_, std::try_to_lock);
    if (parts <= 1 || !busy.owns_lock()) {
      fn(0, n);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      job_n_ = n;
      job_grain_ = grain;
      job_parts_ = parts;
      pending_ = parts - 1;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    std::exception_ptr mine;
    try {
      run_part(fn, 0);
    } catch (...) {
      mine = std::current_exception();
    }
    for (int i = 0; i < spin_iterations && pending_.load(std::memory_order_acquire) != 0; ++i) cpu_relax();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run_part(const RangeFn& fn, std::size_t part) const {
    const std::size_t units = (job_n_ + job_grain_ - 1) / job_grain_;
    const std::size_t b = units * part / job_parts_ * job_grain_;
    const std::size_t e = std::min(job_n_, units * (part + 1) / job_parts_ * job_grain_);
    if (b < e) fn(b, e);
  }

  void worker_loop(std::size_t index) {
    std::size_t seen = 0;
    for (;;) {
      const RangeFn* job;
      for (int i = 0; i < spin_iterations && generation_.load(std::memory_order_acquire) == seen; ++i) cpu_relax();
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (index >= job_parts_) continue;
        job = job_;
      }
      std::exception_ptr err;
      try {
        run_part(*job, index);
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      if (err && !error_) error_ = err;
      if (--pending_ == 0) done_.notify_one();
    }
  }

  // Layers come back to back, microseconds apart, and a futex wake-up costs tens of microseconds:
  // waiting threads spin this many pause instructions (tens of microseconds) before they sleep.
  static constexpr int spin_iterations = 5000;
  static void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }

  std::size_t threads_;
  std::vector<std::thread> workers_;
  std::mutex section_;  // one parallel section at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const RangeFn* job_ = nullptr;
  std::size_t job_n_ = 0, job_grain_ = 1, job_parts_ = 0;
  // Written under mutex_ (the condition variables need that); read without it while spinning.
  std::atomic<std::size_t> pending_{0}, generation_{0};
  std::exception_ptr error_;
  bool stop_ = false;
};

}  // namespace wastenet
