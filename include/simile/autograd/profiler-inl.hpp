#pragma once
/// \file
/// The definitions behind `simile/autograd/profiler.hpp`: compiled once in `src/autograd/profiler.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/autograd/profiler.hpp"

namespace simile {

SIMILE_INLINE std::string ProfileTable::format(long steps) const {
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

}  // namespace simile

namespace simile::detail {

SIMILE_INLINE ProfilerState& profiler_state() {
  thread_local ProfilerState s;
  return s;
}

SIMILE_INLINE void profile_forward(const char* op) {
  auto& s = profiler_state();
  if (!s.table) [[likely]] return;
  auto now = std::chrono::steady_clock::now();
  auto& e = s.table->forward[op];
  e.seconds += std::chrono::duration<double>(now - s.last).count();
  ++e.calls;
  s.last = now;
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE ProfileScope::~ProfileScope() {
  auto& s = detail::profiler_state();
  if (!s.table) return;
  auto& e = s.table->other[name_];
  e.seconds += detail::seconds_since(start_);
  ++e.calls;
  s.last = std::chrono::steady_clock::now();
}

}  // namespace simile
