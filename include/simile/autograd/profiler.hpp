#pragma once
/// \file
/// Where a training step's time goes, per op: while a `Profiler` is alive on a thread, each op's
/// forward time (the time since the previous op or scope ended on that thread, which is when the op
/// began computing) and each backward function's time are added up under the op's name, and
/// `ProfileScope` names other phases (making the views, the optimizer's step). Off by default, and then
/// it costs one branch per op.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"

namespace simile {

/// Accumulated seconds and counts per (phase, name).
struct ProfileTable {
  /// The time charged to one name in one phase.
  struct Entry {
    double seconds = 0;  ///< wall-clock seconds in all
    long calls = 0;      ///< times charged
  };
  /// @{
  /// Per name: ops' forward (by `make_op`), their backward, and other scopes (`ProfileScope`).
  std::map<std::string, Entry> forward, backward, other;
  /// @}

  /// A table sorted by total time, with milliseconds per `steps`.
  std::string format(long steps) const;
};

namespace detail {
struct ProfilerState {
  ProfileTable* table = nullptr;
  std::chrono::steady_clock::time_point last;
};
ProfilerState& profiler_state();
inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
/// Called by `make_op`: charges the time since the last mark to `op`'s forward.
void profile_forward(const char* op);
}  // namespace detail

/// Collects a `ProfileTable` on this thread for its lifetime.
class Profiler {
 public:
  /// Profiling on this thread adds to `table` (which must outlive the profiler) until it is destroyed.
  explicit Profiler(ProfileTable& table) : previous_(detail::profiler_state()) {
    detail::profiler_state() = {&table, std::chrono::steady_clock::now()};
  }
  ~Profiler() { detail::profiler_state() = previous_; }
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

 private:
  detail::ProfilerState previous_;
};

/// Charges the time of a scope to `name` (when profiling), and restarts the forward clock after it.
class ProfileScope {
 public:
  /// Starts the clock; `name` must outlive the scope (a literal).
  explicit ProfileScope(const char* name) : name_(name), start_(std::chrono::steady_clock::now()) {}
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  const char* name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/autograd/profiler-inl.hpp"
#endif
