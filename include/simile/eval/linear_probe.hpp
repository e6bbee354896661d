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

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <span>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/tensor.hpp"
#include "simile/eval/knn.hpp"

namespace simile {

/// Options of `linear_probe`: the penalty and L-BFGS's stopping rule and memory.
struct LinearProbeOptions {
  double l2 = 1e-4;          ///< L2 penalty on W (not on b)
  int max_iterations = 1000; ///< L-BFGS iterations at most
  double tolerance = 1e-5;   ///< stop when max |gradient| falls below this
  int history = 10;          ///< L-BFGS memory
};

/// What `linear_probe` returns; accuracies are fractions in [0, 1].
struct LinearProbeResult {
  double train_accuracy = 0;  ///< on the training features
  double test_accuracy = 0;   ///< on the test features
  double final_loss = 0;      ///< the penalized cross-entropy at the end
  int iterations = 0;         ///< L-BFGS iterations run
  bool converged = false;  ///< stopped by a tolerance, not by max_iterations
};

namespace detail {
using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using VecD = Eigen::VectorXd;

/// Mean cross-entropy of softmax(X W + b) plus the L2 term, and its gradient; theta = [W (D*C, row-major), b (C)].
struct SoftmaxObjective {
  const MatD& x;
  std::span<const std::int64_t> y;
  Index classes;
  double l2;
  MatD logits;

  double operator() (const VecD& theta, VecD& grad);
};

MatD standardized(const Tensor<float>& f, const Eigen::RowVectorXd& mean, const Eigen::RowVectorXd& inv_std);

double accuracy_of(const MatD& x, const VecD& theta, Index classes, std::span<const std::int64_t> y);
}  // namespace detail

/// Trains the probe on (`train`, `train_labels`) and reports accuracy on (`test`, `test_labels`).
/// Shapes: train [N, D], test [M, D]; labels in 0..C-1 with C the number of classes seen in training.
LinearProbeResult linear_probe(const Tensor<float>& train, std::span<const std::int64_t> train_labels, const Tensor<float>& test, std::span<const std::int64_t> test_labels, const LinearProbeOptions& opt = {});

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/eval/linear_probe-inl.hpp"
#endif
