#pragma once
/// \file
/// Transforms of feature vectors (tabular data, embeddings), in place on a row: `FeatureNoise`
/// (Gaussian), `FeatureMasking` (each feature replaced by a value with probability p) and
/// `ScarfCorruption` (Bahri et al. 2022, SCARF: a random subset of the features takes the values of the
/// same features in other random rows, i.e. draws from each feature's empirical marginal). A
/// `VectorPipeline` composes them and `VectorMultiView` makes k views of each row of a batch.

#include <cmath>
#include <cstring>
#include <functional>
#include <span>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/rng.hpp"
#include "simile/core/tensor.hpp"
#include "simile/data/dataset.hpp"

namespace simile {

/// A vector transform: `t.apply(row, rng)` changes the features of `row` in place, drawing only from
/// `rng`; stateless, so one object serves every thread.
template <class T>
concept VectorTransform = std::copy_constructible<T> && requires(const T& t, std::span<float> x, Rng& rng) {
  t.apply(x, rng);
};

/// Adds N(0, sigma^2) to every feature (features are assumed standardized).
struct FeatureNoise {
  float sigma = 0.1f;  ///< the noise's standard deviation, finite and >= 0
  /// Throws ValueError unless `s` is finite and >= 0.
  explicit FeatureNoise(float s) : sigma(s) {
    check<ValueError>(s >= 0 && std::isfinite(s), "FeatureNoise: sigma ", s, " must be finite and >= 0");
  }
  /// Adds the noise to the row `x` in place, drawing from `rng`.
  void apply(std::span<float> x, Rng& rng) const {
    for (float& v : x) v += sigma * static_cast<float>(rng.normal());
  }
};

/// Sets each feature to `value` independently with probability p.
struct FeatureMasking {
  double p = 0.2;      ///< masking probability per feature, in [0, 1]
  float value = 0.0f;  ///< what a masked feature becomes
  /// Throws ValueError unless `probability` is in [0, 1].
  explicit FeatureMasking(double probability, float fill = 0.0f) : p(probability), value(fill) {
    check<ValueError>(p >= 0 && p <= 1, "FeatureMasking: probability ", p, " outside [0, 1]");
  }
  /// Masks features of the row `x` in place, drawing from `rng`.
  void apply(std::span<float> x, Rng& rng) const;
};

/// SCARF corruption: round(rate * D) features, a uniform random subset, each replaced by the same
/// feature of a uniformly drawn row of `data` [N, D] (the training table; shares its storage).
/// The subset is drawn by selection sampling (Knuth's Algorithm S), so no buffer is needed.
struct ScarfCorruption {
  Tensor<float> data;  ///< the table [N, D] replacement values are drawn from (shared storage)
  double rate = 0.6;   ///< the corrupted fraction of the D features, in [0, 1]

  /// Throws ShapeError unless `table` is a non-empty [N, D], ValueError unless the rate is in [0, 1].
  ScarfCorruption(Tensor<float> table, double corruption_rate) : data(std::move(table)), rate(corruption_rate) {
    check<ShapeError>(data.rank() == 2 && data.dim(0) > 0, "ScarfCorruption: data has shape ", data.shape(),
                      ", expected a non-empty [N, D] table");
    check<ValueError>(rate >= 0 && rate <= 1, "ScarfCorruption: rate ", rate, " outside [0, 1]");
  }
  /// Corrupts the row `x` (D features) in place, drawing from `rng`.
  void apply(std::span<float> x, Rng& rng) const;
};

/// A sequence of vector transforms; step k draws from `rng.split(k)`.
class VectorPipeline {
 public:
  /// Appends `t` as the next step; returns `*this` for chaining.
  template <VectorTransform T>
  VectorPipeline& add(T t) {
    steps_.push_back([t = std::move(t)](std::span<float> x, Rng& rng) { t.apply(x, rng); });
    return *this;
  }
  /// Runs the steps on the row `x` in place, step k with `rng.split(k)` (`rng` itself is not advanced).
  void apply(std::span<float> x, Rng& rng) const;

 private:
  std::vector<std::function<void(std::span<float>, Rng&)>> steps_;
};

/// k views of each row, one pipeline per view; view v of row i in epoch e draws from
/// `Rng::stream(seed, e, i, v)` only.
class VectorMultiView {
 public:
  /// View v through `views[v]`. Throws ValueError when `views` is empty.
  explicit VectorMultiView(std::vector<VectorPipeline> views) : views_(std::move(views)) {
    check<ValueError>(!views_.empty(), "VectorMultiView: needs at least one view");
  }
  /// `k` views through the same pipeline `p` (SCARF's two corruptions of one row).
  static VectorMultiView same(const VectorPipeline& p, int k = 2);
  /// V, the number of views.
  int count() const { return static_cast<int>(views_.size()); }

  /// The views of the rows `indices` of `data`, stacked: float [V * B, D], rows v * B .. (v + 1) * B - 1
  /// are view v. Each row is copied into its slot and transformed there, in parallel over rows.
  Tensor<float> make_stacked(const VectorDataset& data, std::span<const Index> indices, std::uint64_t seed, std::uint64_t epoch) const;

 private:
  std::vector<VectorPipeline> views_;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/augment/vector-inl.hpp"
#endif
