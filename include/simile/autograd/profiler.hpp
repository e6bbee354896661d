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

namespace simile {

/// Accumulated seconds and counts per (phase, name).
struct ProfileTable {
  struct Entry {
    double seconds = 0;
    long calls = 0;
  };
  std::map<std::string, Entry> forward, backward, other;

  /// A table sorted by total time, with milliseconds per `steps`.
  std::string format(long steps) const {
    struct Row {
      std::string name;
      double fwd = 0, bwd = 0;
    };
    std::map<std::string, Row> rows;
    for (auto& [n, e] : forward) rows[n].name = n, rows[n].fwd += e.seconds;
    for (auto& [n, e] : backward) rows[n].name = n, rows[n].bwd += e.seconds;
    for (auto& [n, e] : other) rows[n].name = n, rows[n].fwd += e.seconds;
    std::vector<Row> v;
    double total = 0;
    for (auto& [n, r] : rows) v.push_back(r), total += r.fwd + r.bwd;
    std::sort(v.begin(), v.end(), [](const Row& a, const Row& b) { return a.fwd + a.bwd > b.fwd + b.bwd; });
    std::string s = "| part | forward ms/step | backward ms/step | share |\n|---|---|---|---|\n";
    char buf[256];
    const double per = 1000.0 / double(std::max(1L, steps));
    for (auto& r : v) {
      std::snprintf(buf, sizeof buf, "| %s | %.1f | %.1f | %.0f%% |\n", r.name.c_str(), r.fwd * per, r.bwd * per,
                    100.0 * (r.fwd + r.bwd) / std::max(total, 1e-12));
      s += buf;
    }
    std::snprintf(buf, sizeof buf, "| total | | %.1f | 100%% |\n", total * per);
    return s + buf;
  }
};

namespace detail {
struct ProfilerState {
  ProfileTable* table = nullptr;
  std::chrono::steady_clock::time_point last;
};
inline ProfilerState& profiler_state() {
  thread_local ProfilerState s;
  return s;
}
inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
/// Called by `make_op`: charges the time since the last mark to `op`'s forward.
inline void profile_forward(const char* op) {
  auto& s = profiler_state();
  if (!s.table) [[likely]] return;
  auto now = std::chrono::steady_clock::now();
  auto& e = s.table->forward[op];
  e.seconds += std::chrono::duration<double>(now - s.last).count();
  ++e.calls;
  s.last = now;
}
}  // namespace detail

/// Collects a `ProfileTable` on this thread for its lifetime.
class Profiler {
 public:
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
  explicit ProfileScope(const char* name) : name_(name), start_(std::chrono::steady_clock::now()) {}
  ~ProfileScope() {
    auto& s = detail::profiler_state();
    if (!s.table) return;
    auto& e = s.table->other[name_];
    e.seconds += detail::seconds_since(start_);
    ++e.calls;
    s.last = std::chrono::steady_clock::now();
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  const char* name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace simile
