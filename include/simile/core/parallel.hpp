#pragma once
/// \file
/// The one place simile goes parallel. The thread count is explicit: `set_num_threads(n)` (or a scoped
/// `ThreadScope`) sets it for simile's OpenMP regions and for Eigen's GEMM alike. It starts at 1: the
/// library never silently takes every core of a machine it shares. Work is split into contiguous
/// static chunks and reductions combine per-chunk results in chunk order, so the same thread count
/// gives the same bits.

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <exception>
#include <vector>

#include "simile/core/error.hpp"
#include "simile/core/shape.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace simile {

namespace detail {
/// simile's thread count, 1 until set. Eigen's starts at every core (OpenMP's default): the first use of
/// simile's count sets Eigen's to 1 as well, so that the two agree from the start.
inline std::atomic<int>& thread_count() {
  static std::atomic<int> n{[] {
    Eigen::setNbThreads(1);
    return 1;
  }()};
  return n;
}
/// That first use, at start-up in every program that includes this header: a GEMM (`matmul`) before any
/// thread count is set runs on 1 thread, as everything else of simile's does.
inline const bool eigen_follows_simile = (thread_count(), true);
inline bool in_parallel() {
#if defined(_OPENMP)
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}
}  // namespace detail

/// The thread count simile's parallel regions and Eigen's GEMM use.
inline int num_threads() { return detail::thread_count().load(std::memory_order_relaxed); }

/// Sets the thread count (>= 1) for simile and for Eigen.
inline void set_num_threads(int n) {
  check(n >= 1, "set_num_threads: thread count ", n, " must be at least 1");
  detail::thread_count().store(n, std::memory_order_relaxed);
  Eigen::setNbThreads(n);
}

/// Cores the machine offers (what a trainer may default to; the library itself never does).
inline int hardware_threads() {
#if defined(_OPENMP)
  return omp_get_num_procs();
#else
  return 1;
#endif
}

/// Sets the thread count for a scope and restores the previous one on exit.
class ThreadScope {
 public:
  /// Sets the thread count to `n` (`set_num_threads`) until the scope ends.
  explicit ThreadScope(int n) : previous_(num_threads()) { set_num_threads(n); }
  ~ThreadScope() { set_num_threads(previous_); }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_;
};

/// Number of chunks `parallel_for` splits [0, n) into for a grain of `grain` items per chunk.
inline int parallel_chunks(Index n, Index grain) {
  if (n <= 0) return 0;
  grain = std::max<Index>(grain, 1);
  Index by_size = (n + grain - 1) / grain;
  int t = detail::in_parallel() ? 1 : num_threads();
  return static_cast<int>(std::max<Index>(1, std::min<Index>(t, by_size)));
}

/// Calls `f(chunk, begin, end)` on contiguous static chunks covering [begin, end), one chunk per thread,
/// at most `num_threads()` threads and at least `grain` items per chunk. Runs inline inside another
/// parallel region. An exception thrown by `f` is rethrown on the calling thread.
template <class F>
void parallel_chunked(Index begin, Index end, Index grain, F&& f) {
  Index n = end - begin;
  int chunks = parallel_chunks(n, grain);
  if (chunks == 0) return;
  auto bounds = [&](int c) { return begin + n * c / chunks; };
  if (chunks == 1) {
    f(0, begin, end);
    return;
  }
#if defined(_OPENMP)
  std::exception_ptr error;
#pragma omp parallel num_threads(chunks)
  {
    int c = omp_get_thread_num();
    try {
      f(c, bounds(c), bounds(c + 1));
    } catch (...) {
#pragma omp critical(simile_parallel_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
#else
  for (int c = 0; c < chunks; ++c) f(c, bounds(c), bounds(c + 1));
#endif
}

/// Calls `f(begin, end)` on contiguous chunks covering [begin, end) in parallel (see `parallel_chunked`).
template <class F>
void parallel_for(Index begin, Index end, Index grain, F&& f) {
  parallel_chunked(begin, end, grain, [&](int, Index b, Index e) { f(b, e); });
}

/// Deterministic parallel reduction: `partial(begin, end)` per chunk, combined with `combine` in chunk
/// order starting from `init`.
template <class R, class Partial, class Combine>
R parallel_reduce(Index begin, Index end, Index grain, R init, Partial&& partial, Combine&& combine) {
  std::vector<R> parts(static_cast<std::size_t>(std::max(1, parallel_chunks(end - begin, grain))), init);
  parallel_chunked(begin, end, grain,
                   [&](int c, Index b, Index e) { parts[static_cast<std::size_t>(c)] = partial(b, e); });
  R acc = init;
  for (const R& p : parts) acc = combine(acc, p);
  return acc;
}

}  // namespace simile
