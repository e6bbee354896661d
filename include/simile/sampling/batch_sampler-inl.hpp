#pragma once
/// \file
/// The definitions behind `simile/sampling/batch_sampler.hpp`: compiled once in `src/sampling/batch_sampler.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/sampling/batch_sampler.hpp"

namespace simile {

SIMILE_INLINE std::vector<std::vector<Index>> MPerClassSampler::batches(std::uint64_t epoch) const {
  const Index m = opt_.m, k = per_batch();
  // Groups of m per class; the class id is its rank in label order.
  std::vector<std::vector<std::vector<Index>>> groups;
  std::uint64_t c = 0;
  for (const auto& [label, members] : classes_) {
    Rng rng = Rng::stream(opt_.seed, epoch, c++);
    std::vector<Index> v = members;
    detail::shuffle(v, rng);
    const std::size_t pad = (static_cast<std::size_t>(m) - v.size() % static_cast<std::size_t>(m)) % static_cast<std::size_t>(m);
    for (std::size_t i = 0; i < pad; ++i) v.push_back(v[rng.below(members.size())]);
    auto& g = groups.emplace_back();
    for (std::size_t i = 0; i < v.size(); i += static_cast<std::size_t>(m))
      g.emplace_back(v.begin() + static_cast<std::ptrdiff_t>(i), v.begin() + static_cast<std::ptrdiff_t>(i) + m);
  }
  Rng rng = Rng::stream(opt_.seed, epoch, std::uint64_t{0xFFFFFFFF});
  const Index n_classes = static_cast<Index>(groups.size());
  std::vector<std::size_t> next(static_cast<std::size_t>(n_classes), 0);
  auto left = [&](Index cl) {
    return groups[static_cast<std::size_t>(cl)].size() - next[static_cast<std::size_t>(cl)];
  };
  std::vector<std::vector<Index>> out;
  std::vector<Index> order(static_cast<std::size_t>(n_classes));
  while (true) {
    std::iota(order.begin(), order.end(), Index{0});
    detail::shuffle(order, rng);  // random tie-breaking among equally full classes
    std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return left(a) > left(b); });
    if (left(order[0]) == 0) break;
    std::vector<Index> batch;
    for (Index t = 0; t < k; ++t) {
      const Index cl = order[static_cast<std::size_t>(t)];
      const auto& g = groups[static_cast<std::size_t>(cl)];
      if (left(cl) > 0) {
        const auto& grp = g[next[static_cast<std::size_t>(cl)]++];
        batch.insert(batch.end(), grp.begin(), grp.end());
      } else {  // too few classes left: an extra group drawn from this class
        const auto& members = std::next(classes_.begin(), cl)->second;
        for (Index i = 0; i < m; ++i) batch.push_back(members[rng.below(members.size())]);
      }
    }
    out.push_back(std::move(batch));
  }
  // Batch order shuffled too, so that the large classes do not all come first.
  std::vector<Index> perm(out.size());
  std::iota(perm.begin(), perm.end(), Index{0});
  detail::shuffle(perm, rng);
  std::vector<std::vector<Index>> shuffled;
  for (Index p : perm) shuffled.push_back(std::move(out[static_cast<std::size_t>(p)]));
  return shuffled;
}

SIMILE_INLINE std::vector<Index> MPerClassSampler::operator() (Index size, std::uint64_t epoch) const {
  check(size == size_, "MPerClassSampler: the dataset has ", size, " samples, the labels ", size_);
  std::vector<Index> flat;
  for (auto& b : batches(epoch)) flat.insert(flat.end(), b.begin(), b.end());
  return flat;
}

SIMILE_INLINE std::vector<std::vector<Index>> NoDuplicatesSampler::batches(std::uint64_t epoch) const {
  Rng rng = Rng::stream(opt_.seed, epoch);
  std::vector<Index> order(ids_.size());
  std::iota(order.begin(), order.end(), Index{0});
  detail::shuffle(order, rng);
  std::vector<std::vector<Index>> out;
  std::vector<std::unordered_set<std::int64_t>> seen;
  std::size_t first_open = 0;  // batches before it are full
  for (Index i : order) {
    const std::int64_t id = ids_[static_cast<std::size_t>(i)];
    std::size_t b = first_open;
    while (b < out.size() && (static_cast<Index>(out[b].size()) == opt_.batch_size || seen[b].count(id))) ++b;
    if (b == out.size()) {
      out.emplace_back();
      seen.emplace_back();
    }
    out[b].push_back(i);
    seen[b].insert(id);
    while (first_open < out.size() && static_cast<Index>(out[first_open].size()) == opt_.batch_size) ++first_open;
  }
  // Complete the short batches with samples drawn again, from identities they lack.
  for (std::size_t b = 0; b < out.size(); ++b) {
    std::size_t cursor = rng.below(order.size());
    while (static_cast<Index>(out[b].size()) < opt_.batch_size) {
      Index i = order[cursor];
      cursor = (cursor + 1) % order.size();
      if (seen[b].insert(ids_[static_cast<std::size_t>(i)]).second) out[b].push_back(i);
    }
  }
  return out;
}

SIMILE_INLINE std::vector<Index> NoDuplicatesSampler::operator() (Index size, std::uint64_t epoch) const {
  check(size == static_cast<Index>(ids_.size()), "NoDuplicatesSampler: the dataset has ", size,
        " samples, the identities ", ids_.size());
  std::vector<Index> flat;
  for (auto& b : batches(epoch)) flat.insert(flat.end(), b.begin(), b.end());
  return flat;
}

}  // namespace simile
