#pragma once
/// \file
/// Batch samplers that decide which samples share a batch, for losses that need positives in the batch
/// (SupCon, triplet, pairwise contrastive) or must not see the same identity twice (in-batch negatives).
///
/// Both are callables `std::vector<Index>(Index size, std::uint64_t epoch)`, the Loader's `Sampler`:
/// they return the epoch's order, batch after batch, every batch exactly `batch_size` long, so a Loader
/// with the same batch size cuts exactly these batches. The order depends only on (seed, epoch).
///
/// - `MPerClassSampler`: every batch holds exactly m samples of each of batch_size / m distinct classes.
///   Each epoch covers every sample at least once: each class is shuffled and cut into groups of m
///   (its last group completed with samples drawn again from that class), and batches take one group
///   from each of the k classes with the most groups left. When fewer than k classes still have groups,
///   the batch is completed with extra groups drawn from other classes. The epoch length
///   (`epoch_length()`) depends only on the class sizes, so it is the same every epoch.
/// - `NoDuplicatesSampler`: no two samples of one identity in a batch (e.g. two captions of one image,
///   which would be false negatives). Each sample goes to the first batch under construction that lacks
///   its identity and has room; batches left short at the end are completed with samples drawn again
///   from identities they lack. Every sample appears at least once per epoch.

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <span>
#include <unordered_set>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/error.hpp"
#include "simile/core/rng.hpp"
#include "simile/core/shape.hpp"

namespace simile {

namespace detail {
/// Fisher-Yates shuffle driven by `rng`.
inline void shuffle(std::vector<Index>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}
}  // namespace detail

/// Options of `MPerClassSampler`.
struct MPerClassOptions {
  Index m = 2;             ///< samples per class in a batch, >= 1
  Index batch_size = 32;   ///< multiple of m; batch_size / m distinct classes per batch
  std::uint64_t seed = 0;  ///< the order depends only on (seed, epoch)
};

/// Batches of `batch_size / m` distinct classes with m samples each, so that every sample has m - 1
/// positives in its batch (the M-per-class sampling of metric learning); a Loader `Sampler`.
class MPerClassSampler {
 public:
  /// `labels[i]` is the class of sample i. Requires at least batch_size / m classes.
  MPerClassSampler(std::vector<std::int64_t> labels, const MPerClassOptions& opt) : opt_(opt) {
    check(opt.m >= 1 && opt.batch_size >= opt.m && opt.batch_size % opt.m == 0, "MPerClassSampler: batch_size ",
          opt.batch_size, " must be a positive multiple of m ", opt.m);
    for (std::size_t i = 0; i < labels.size(); ++i) classes_[labels[i]].push_back(static_cast<Index>(i));
    size_ = static_cast<Index>(labels.size());
    check(static_cast<Index>(classes_.size()) >= per_batch(), "MPerClassSampler: ", classes_.size(),
          " classes, fewer than the ", per_batch(), " a batch of ", opt.batch_size, " with m = ", opt.m, " needs");
    epoch_length_ = static_cast<Index>(batches(0).size()) * opt.batch_size;
  }

  /// Distinct classes per batch.
  Index per_batch() const { return opt_.batch_size / opt_.m; }
  /// Indices per epoch (a multiple of batch_size, at least the number of samples).
  Index epoch_length() const { return epoch_length_; }

  /// The batches of epoch `epoch`.
  std::vector<std::vector<Index>> batches(std::uint64_t epoch) const;

  /// The Loader's `Sampler` interface: the epoch's batches, concatenated. `size` must be the sample count.
  std::vector<Index> operator() (Index size, std::uint64_t epoch) const;

 private:
  MPerClassOptions opt_;
  std::map<std::int64_t, std::vector<Index>> classes_;
  Index size_ = 0;
  Index epoch_length_ = 0;
};

/// Options of `NoDuplicatesSampler`.
struct NoDuplicatesOptions {
  Index batch_size = 32;   ///< samples per batch, >= 1
  std::uint64_t seed = 0;  ///< the order depends only on (seed, epoch)
};

/// Batches in which no two samples share an identity (no false negatives among in-batch negatives,
/// as sentence-transformers' NoDuplicatesDataLoader); a Loader `Sampler`.
class NoDuplicatesSampler {
 public:
  /// `identities[i]` is the identity of sample i. Requires at least batch_size distinct identities.
  NoDuplicatesSampler(std::vector<std::int64_t> identities, const NoDuplicatesOptions& opt)
      : ids_(std::move(identities)), opt_(opt) {
    check(opt.batch_size >= 1, "NoDuplicatesSampler: batch_size ", opt.batch_size, " must be positive");
    std::unordered_set<std::int64_t> distinct(ids_.begin(), ids_.end());
    check(static_cast<Index>(distinct.size()) >= opt.batch_size, "NoDuplicatesSampler: ", distinct.size(),
          " distinct identities, fewer than the batch size ", opt.batch_size);
  }

  /// The batches of epoch `epoch`, each of batch_size samples with distinct identities.
  std::vector<std::vector<Index>> batches(std::uint64_t epoch) const;

  /// The Loader's `Sampler` interface: the epoch's batches, concatenated.
  std::vector<Index> operator() (Index size, std::uint64_t epoch) const;

 private:
  std::vector<std::int64_t> ids_;
  NoDuplicatesOptions opt_;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/sampling/batch_sampler-inl.hpp"
#endif
