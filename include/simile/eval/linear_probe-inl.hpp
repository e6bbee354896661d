#pragma once
/// \file
/// The definitions behind `simile/eval/linear_probe.hpp`: compiled once in `src/eval/linear_probe.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/eval/linear_probe.hpp"

namespace simile::detail {

SIMILE_INLINE MatD Standardized::rows(Index lo, Index hi) const {
  MatD m = f.matrix().middleRows(lo, hi - lo).cast<double>();
  m.rowwise() -= mean;
  m.array().rowwise() *= inv_std.array();
  return m;
}

SIMILE_INLINE double SoftmaxObjective::operator()(const VecD& theta, VecD& grad) const {
  const Index d = x.f.dim(1), c = classes, n = x.f.dim(0);
  Eigen::Map<const MatD> w(theta.data(), d, c);
  Eigen::Map<const Eigen::RowVectorXd> b(theta.data() + d * c, c);
  const Index blocks = (n + probe_block - 1) / probe_block;
  std::vector<double> loss_part(static_cast<std::size_t>(blocks), 0.0);
  std::vector<VecD> grad_part(static_cast<std::size_t>(blocks));
  parallel_for(0, blocks, 1, [&](Index first, Index last) {
    for (Index k = first; k < last; ++k) {
      const Index lo = k * probe_block, hi = std::min(n, lo + probe_block);
      const MatD xb = x.rows(lo, hi);
      MatD logits = xb * w;
      double acc = 0;
      for (Index i = 0; i < hi - lo; ++i) {
        auto row = logits.row(i);
        const auto label = y[static_cast<std::size_t>(lo + i)];
        row += b;
        double mx = row.maxCoeff();
        double lse = mx + std::log((row.array() - mx).exp().sum());
        acc += lse - row(label);
        row = (row.array() - lse).exp();  // softmax probabilities
        row(label) -= 1.0;
        row /= double(n);  // now d loss / d logits
      }
      VecD& g = grad_part[static_cast<std::size_t>(k)];
      g.resize((d + 1) * c);
      Eigen::Map<MatD>(g.data(), d, c).noalias() = xb.transpose() * logits;
      Eigen::Map<Eigen::RowVectorXd>(g.data() + d * c, c) = logits.colwise().sum();
      loss_part[static_cast<std::size_t>(k)] = acc;
    }
  });
  double loss = 0;
  grad = VecD::Zero(theta.size());
  for (Index k = 0; k < blocks; ++k) {
    loss += loss_part[static_cast<std::size_t>(k)];
    grad += grad_part[static_cast<std::size_t>(k)];
  }
  loss /= double(n);
  Eigen::Map<MatD>(grad.data(), d, c) += l2 * w;
  return loss + 0.5 * l2 * w.squaredNorm();
}

SIMILE_INLINE double accuracy_of(const Standardized& x, const VecD& theta, Index classes,
                                 std::span<const std::int64_t> y) {
  const Index d = x.f.dim(1), n = x.f.dim(0);
  Eigen::Map<const MatD> w(theta.data(), d, classes);
  Eigen::Map<const Eigen::RowVectorXd> b(theta.data() + d * classes, classes);
  Index correct = 0;
  for (Index lo = 0; lo < n; lo += probe_block) {
    const Index hi = std::min(n, lo + probe_block);
    const MatD logits = x.rows(lo, hi) * w;
    for (Index i = 0; i < hi - lo; ++i) {
      Index best;
      (logits.row(i) + b).maxCoeff(&best);
      correct += best == y[static_cast<std::size_t>(lo + i)];
    }
  }
  return n ? double(correct) / double(n) : 0.0;
}

SIMILE_INLINE std::vector<int> stratified_folds(std::span<const std::int64_t> labels, int folds, std::uint64_t seed) {
  std::vector<std::int64_t> classes(labels.begin(), labels.end());
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  std::vector<int> fold(labels.size(), 0);
  std::size_t dealt = 0;  // the deal goes on from class to class, so small classes do not all start fold 0
  for (std::int64_t c : classes) {
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == c) rows.push_back(i);
    Rng rng = Rng::stream(seed, static_cast<std::uint64_t>(c));
    for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng.below(i)]);
    for (std::size_t row : rows) fold[row] = static_cast<int>(dealt++ % static_cast<std::size_t>(folds));
  }
  return fold;
}

SIMILE_INLINE double cross_validated_l2(const Tensor<float>& train, std::span<const std::int64_t> train_labels,
                                        const LinearProbeOptions& opt) {
  const std::vector<int> fold = stratified_folds(train_labels, opt.folds, opt.seed);
  LinearProbeOptions fixed = opt;
  fixed.l2_grid.clear();
  fixed.tolerance = opt.cv_tolerance;
  std::vector<Index> right(opt.l2_grid.size(), 0);
  for (int k = 0; k < opt.folds; ++k) {
    std::vector<Index> fit_rows, held_rows;
    for (std::size_t i = 0; i < fold.size(); ++i) (fold[i] == k ? held_rows : fit_rows).push_back(static_cast<Index>(i));
    auto [x_fit, y_fit] = take_rows(train, train_labels, fit_rows);
    auto [x_held, y_held] = take_rows(train, train_labels, held_rows);
    for (std::size_t g = 0; g < opt.l2_grid.size(); ++g) {
      fixed.l2 = opt.l2_grid[g];
      const double acc = linear_probe(x_fit, y_fit, x_held, y_held, fixed).test_accuracy;
      right[g] += static_cast<Index>(std::llround(acc * static_cast<double>(held_rows.size())));
    }
  }
  std::size_t best = 0;
  for (std::size_t g = 1; g < right.size(); ++g)
    if (right[g] > right[best] || (right[g] == right[best] && opt.l2_grid[g] > opt.l2_grid[best])) best = g;
  return opt.l2_grid[best];
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE LinearProbeResult linear_probe(const Tensor<float>& train, std::span<const std::int64_t> train_labels, const Tensor<float>& test, std::span<const std::int64_t> test_labels, const LinearProbeOptions& opt) {
  detail::check_split("linear_probe", train, train_labels, test, test_labels);
  check(train.dim(0) >= 1, "linear_probe: no training rows");
  check(opt.l2 >= 0 && opt.max_iterations >= 1 && opt.tolerance > 0 && opt.history >= 1,
        "linear_probe: bad options (l2 ", opt.l2, ", max_iterations ", opt.max_iterations, ", tolerance ",
        opt.tolerance, ", history ", opt.history, ")");
  const Index classes = detail::count_classes(train_labels, "linear_probe");
  for (std::int64_t l : test_labels) check(l >= 0, "linear_probe: negative test label ", l);
  double l2 = opt.l2;
  if (!opt.l2_grid.empty()) {
    for (double g : opt.l2_grid)
      check(std::isfinite(g) && g >= 0, "linear_probe: l2_grid holds ", g, ", expected finite penalties >= 0");
    check(opt.folds >= 2 && opt.folds <= train.dim(0), "linear_probe: ", opt.folds, " folds of ", train.dim(0),
          " training rows (expected 2 to the rows)");
    check(opt.cv_tolerance > 0, "linear_probe: cv_tolerance ", opt.cv_tolerance, ", expected > 0");
    l2 = detail::cross_validated_l2(train, train_labels, opt);
  }

  Eigen::RowVectorXd mean = train.matrix().cast<double>().colwise().mean();
  Eigen::RowVectorXd var = (train.matrix().cast<double>().rowwise() - mean).array().square().colwise().mean();
  Eigen::RowVectorXd inv_std = (var.array() + 1e-12).rsqrt();
  const detail::Standardized xtr{train, mean, inv_std}, xte{test, mean, inv_std};

  const detail::SoftmaxObjective f{xtr, train_labels, classes, l2};
  const Index dim = (train.dim(1) + 1) * classes;
  detail::VecD theta = detail::VecD::Zero(dim), grad, new_grad;
  double loss = f(theta, grad);
  std::deque<std::pair<detail::VecD, detail::VecD>> mem;  // (s, y) pairs
  LinearProbeResult r;
  r.l2 = l2;
  int it = 0;
  for (; it < opt.max_iterations; ++it) {
    if (grad.lpNorm<Eigen::Infinity>() < opt.tolerance) {
      r.converged = true;
      break;
    }
    // Two-loop recursion: direction = -H grad.
    detail::VecD q = grad;
    std::vector<double> alpha(mem.size());
    for (std::size_t j = mem.size(); j-- > 0;) {
      const auto& [s, yv] = mem[j];
      alpha[j] = s.dot(q) / yv.dot(s);
      q -= alpha[j] * yv;
    }
    if (!mem.empty()) q *= mem.back().first.dot(mem.back().second) / mem.back().second.squaredNorm();
    else q /= std::max(1.0, grad.norm());
    for (std::size_t j = 0; j < mem.size(); ++j) {
      const auto& [s, yv] = mem[j];
      double beta = yv.dot(q) / yv.dot(s);
      q += (alpha[j] - beta) * s;
    }
    detail::VecD dir = -q;
    double slope = grad.dot(dir);
    if (slope >= 0) {  // not a descent direction: restart from steepest descent
      mem.clear();
      dir = -grad / std::max(1.0, grad.norm());
      slope = grad.dot(dir);
    }
    double step = 1.0, new_loss = 0;
    detail::VecD next;
    for (int ls = 0; ls < 40; ++ls, step *= 0.5) {
      next = theta + step * dir;
      new_loss = f(next, new_grad);
      if (new_loss <= loss + 1e-4 * step * slope) break;
    }
    if (!(new_loss < loss)) {  // no progress possible at this precision
      r.converged = true;
      break;
    }
    detail::VecD s = next - theta, yv = new_grad - grad;
    if (s.dot(yv) > 1e-12) {
      mem.emplace_back(std::move(s), std::move(yv));
      if (static_cast<int>(mem.size()) > opt.history) mem.pop_front();
    }
    bool flat = (loss - new_loss) <= 1e-10 * std::max(1.0, std::abs(loss));
    theta = std::move(next);
    grad = new_grad;
    loss = new_loss;
    if (flat) {
      r.converged = true;
      ++it;
      break;
    }
  }
  r.iterations = it;
  r.final_loss = loss;
  r.train_accuracy = detail::accuracy_of(xtr, theta, classes, train_labels);
  r.test_accuracy = detail::accuracy_of(xte, theta, classes, test_labels);
  return r;
}

}  // namespace simile
