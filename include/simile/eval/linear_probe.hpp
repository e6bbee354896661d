#pragma once
/// \file
/// Linear probe: multinomial logistic regression on frozen representations, the standard measure of
/// what a self-supervised encoder learned. Features are standardized with the training set's mean and
/// standard deviation, then W [D, C] and b [C] minimize
///   L(W, b) = (1/N) sum_i -log softmax(x_i W + b)_{y_i} + (l2 / 2) ||W||^2
/// by L-BFGS (Nocedal & Wright, algorithm 7.4, memory `history`) with a backtracking Armijo line search,
/// in double precision, to convergence: it stops when the largest gradient component falls below
/// `tolerance` or the loss stops decreasing (relative change below 1e-10), or after `max_iterations`.
/// The encoder is not involved: the probe sees only the feature matrices it is given.
///
/// With `l2_grid`, the penalty is chosen as SimCLR's transfer evaluation does (Chen et al. 2020, B.8), but
/// on the training rows alone: k-fold cross-validation, folds stratified by class, each grid value scored
/// by the held-out accuracy summed over the folds; the best (ties: the largest penalty) is then used on all
/// training rows. It matters when labels are few: 600 rows of 128 features fit nearly any labeling.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/rng.hpp"
#include "simile/core/tensor.hpp"
#include "simile/eval/knn.hpp"

namespace simile {

/// Options of `linear_probe`: the penalty (given, or chosen by cross-validation) and L-BFGS's stopping rule
/// and memory.
struct LinearProbeOptions {
  double l2 = 1e-4;          ///< L2 penalty on W (not on b); ignored when `l2_grid` is given
  int max_iterations = 1000; ///< L-BFGS iterations at most
  double tolerance = 1e-5;   ///< stop when max |gradient| falls below this
  int history = 10;          ///< L-BFGS memory
  /// Penalties to choose from by `folds`-fold cross-validation on the training rows (empty: use `l2`).
  std::vector<double> l2_grid;
  int folds = 5;           ///< folds of the cross-validation (2 or more, at most the training rows)
  /// `tolerance` of the cross-validation's fits: ranking penalties by held-out accuracy needs less than the
  /// final fit (on 10 % of Fashion-MNIST, 512 features: the same choices as at 1e-5 in a third of the time).
  double cv_tolerance = 1e-4;
  std::uint64_t seed = 0;  ///< draws the folds (class by class, `Rng::stream(seed, label)`)
};

/// What `linear_probe` returns; accuracies are fractions in [0, 1].
struct LinearProbeResult {
  double train_accuracy = 0;  ///< on the training features
  double test_accuracy = 0;   ///< on the test features
  double final_loss = 0;      ///< the penalized cross-entropy at the end
  int iterations = 0;         ///< L-BFGS iterations run
  bool converged = false;  ///< stopped by a tolerance, not by max_iterations
  double l2 = 0;           ///< the penalty used: `l2`, or the one cross-validation chose from `l2_grid`
};

/// The labels of `labels` at `idx`, and the rows of `features` there.
inline std::pair<Tensor<float>, std::vector<std::int64_t>> take_rows(const Tensor<float>& features,
                                                                    std::span<const std::int64_t> labels,
                                                                    std::span<const Index> idx) {
  Tensor<float> x = Tensor<float>::empty({static_cast<Index>(idx.size()), features.dim(1)});
  std::vector<std::int64_t> y;
  for (std::size_t i = 0; i < idx.size(); ++i) {
    features.slice_rows(idx[i], idx[i] + 1).copy_to(x.slice_rows(static_cast<Index>(i), static_cast<Index>(i) + 1));
    y.push_back(labels[static_cast<std::size_t>(idx[i])]);
  }
  return {x, y};
}

namespace detail {
using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using VecD = Eigen::VectorXd;

/// Standardized features: rows x_i = (f_i - mean) * inv_std of the float features `f` [N, D], in double, made
/// a block of `probe_block` rows at a time and never as a whole (a [N, D] double copy would be twice the
/// features: 0.55 GB for Fashion-MNIST's 60,000 rows of 1,152).
struct Standardized {
  const Tensor<float>& f;
  Eigen::RowVectorXd mean, inv_std;

  /// Rows [lo, hi) standardized: [hi - lo, D].
  MatD rows(Index lo, Index hi) const;
};

/// Rows a block of `Standardized`: the order of every sum over rows, whatever the thread count.
inline constexpr Index probe_block = 1024;

/// Mean cross-entropy of softmax(X W + b) plus the L2 term, and its gradient; theta = [W (D*C, row-major), b (C)].
/// X is taken a block of rows at a time; the blocks' sums are added in block order.
struct SoftmaxObjective {
  const Standardized& x;
  std::span<const std::int64_t> y;
  Index classes;
  double l2;

  double operator()(const VecD& theta, VecD& grad) const;
};

/// Fraction of rows whose largest logit of X W + b is their label's.
double accuracy_of(const Standardized& x, const VecD& theta, Index classes, std::span<const std::int64_t> y);

/// The fold (0..folds-1) of each of `labels`' rows: class by class, the rows in an order drawn from
/// `Rng::stream(seed, label)` are dealt to the folds in turn, the deal going on from one class to the next:
/// each fold holds 1/folds of every class (to a row) and of all rows, so none is empty when folds <= rows.
std::vector<int> stratified_folds(std::span<const std::int64_t> labels, int folds, std::uint64_t seed);

/// The penalty of `opt.l2_grid` with the most held-out rows right over `opt.folds` folds of the training rows
/// (ties: the largest penalty).
double cross_validated_l2(const Tensor<float>& train, std::span<const std::int64_t> train_labels,
                          const LinearProbeOptions& opt);
}  // namespace detail

/// Trains the probe on (`train`, `train_labels`) and reports accuracy on (`test`, `test_labels`).
/// Shapes: train [N, D], test [M, D]; labels in 0..C-1 with C the number of classes seen in training.
LinearProbeResult linear_probe(const Tensor<float>& train, std::span<const std::int64_t> train_labels, const Tensor<float>& test, std::span<const std::int64_t> test_labels, const LinearProbeOptions& opt = {});

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/eval/linear_probe-inl.hpp"
#endif
