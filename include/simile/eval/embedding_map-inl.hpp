#pragma once
/// \file
/// The definitions behind `simile/eval/embedding_map.hpp`: compiled once in `src/eval/embedding_map.cpp`, or
/// included by that header in header-only mode (SIMILE_INLINE is then `inline`).

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "simile/core/error.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/rng.hpp"
#include "simile/eval/embedding_map.hpp"

namespace simile {

namespace detail {
inline void check_finite_points(const Tensor<float>& x, const char* who, Index min_rows) {
  check<ShapeError>(x.rank() == 2 && x.dim(0) >= min_rows && x.dim(1) >= 1, who,
                    ": expected points [N, D] with N >= ", min_rows, " and D >= 1, got shape ", x.shape());
  check(x.array().isFinite().all(), who, ": the points hold a NaN or infinity");
}
}  // namespace detail

SIMILE_INLINE Pca pca(const Tensor<float>& x, Index components) {
  detail::check_finite_points(x, "pca", 2);
  const Index n = x.dim(0), d = x.dim(1);
  check(components >= 1 && components <= d, "pca: ", components, " components asked of ", d, "-dimensional points");
  check(d <= max_pca_dim, "pca: ", d, "-dimensional points, at most ", max_pca_dim,
        " (the covariance is D x D): project them first");
  Eigen::MatrixXd z = x.matrix().cast<double>();
  Eigen::RowVectorXd mean = z.colwise().mean();
  z.rowwise() -= mean;
  Eigen::MatrixXd cov = (z.transpose() * z) / double(n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
  check(es.info() == Eigen::Success, "pca: the eigensolver did not converge");
  Pca r;
  r.total_variance = cov.trace();
  r.mean = Tensor<float>::empty({d});
  for (Index j = 0; j < d; ++j) r.mean.data()[j] = static_cast<float>(mean(j));
  // Eigen sorts the eigenvalues increasingly: the components are the last columns, taken from the end.
  Eigen::MatrixXd v(d, components);
  for (Index c = 0; c < components; ++c) {
    Eigen::VectorXd col = es.eigenvectors().col(d - 1 - c);
    Index big = 0;
    col.cwiseAbs().maxCoeff(&big);
    if (col(big) < 0) col = -col;
    v.col(c) = col;
    r.variance.push_back(std::max(0.0, es.eigenvalues()(d - 1 - c)));
  }
  Eigen::MatrixXd s = z * v;
  r.scores = Tensor<float>::empty({n, components});
  r.scores.matrix() = s.cast<float>();
  r.components = Tensor<float>::empty({components, d});
  r.components.matrix() = v.transpose().cast<float>();
  return r;
}

namespace detail {

// Row i of the conditional affinities p_j|i for squared distances `dist` (dist[i] unused): beta found by
// bisection on the entropy H = log(sum) + beta sum(d p) (natural log) against log(perplexity), as in the
// paper's reference code. Writes the row into `p`.
inline void tsne_row_affinities(const double* dist, Index n, Index i, double log_perplexity, double* p) {
  double beta = 1, lo = 0, hi = std::numeric_limits<double>::infinity();
  // Distances relative to the nearest neighbour keep exp() from underflowing to zero everywhere.
  double nearest = std::numeric_limits<double>::infinity();
  for (Index j = 0; j < n; ++j)
    if (j != i) nearest = std::min(nearest, dist[j]);
  for (int step = 0; step < 200; ++step) {
    double sum = 0, weighted = 0;
    for (Index j = 0; j < n; ++j) {
      if (j == i) {
        p[j] = 0;
        continue;
      }
      const double e = std::exp(-beta * (dist[j] - nearest));
      p[j] = e;
      sum += e;
      weighted += (dist[j] - nearest) * e;
    }
    const double entropy = std::log(sum) + beta * weighted / sum;
    const double gap = entropy - log_perplexity;
    if (std::abs(gap) < 1e-5) break;
    if (gap > 0) {  // too flat: sharpen
      lo = beta;
      beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
    } else {
      hi = beta;
      beta = (beta + lo) / 2;
    }
  }
  double sum = 0;
  for (Index j = 0; j < n; ++j) sum += p[j];
  for (Index j = 0; j < n; ++j) p[j] /= sum;
}

}  // namespace detail

SIMILE_INLINE Tsne tsne(const Tensor<float>& x, const TsneOptions& opt) {
  detail::check_finite_points(x, "tsne", 4);
  const Index n = x.dim(0);
  check(std::isfinite(opt.perplexity) && opt.perplexity >= 1 && opt.perplexity < double(n), "tsne: perplexity ",
        opt.perplexity, " must be in [1, N) for N = ", n, " points");
  check(opt.iterations >= 1, "tsne: iterations ", opt.iterations, " must be at least 1");
  check(std::isfinite(opt.learning_rate) && opt.learning_rate >= 0, "tsne: learning rate ", opt.learning_rate,
        " must be >= 0 (0: automatic)");
  check(std::isfinite(opt.early_exaggeration) && opt.early_exaggeration >= 1, "tsne: early exaggeration ",
        opt.early_exaggeration, " must be >= 1");
  check(opt.exaggeration_iterations >= 0, "tsne: exaggeration iterations ", opt.exaggeration_iterations,
        " must be >= 0");
  const std::size_t nn = std::size_t(n);
  const Index grain = std::max<Index>(1, 4096 / n);

  // P: conditional affinities row by row (each row from its own squared distances), then symmetrized.
  std::vector<double> p(nn * nn);
  {
    Eigen::MatrixXd z = x.matrix().cast<double>();
    Eigen::VectorXd norms = z.rowwise().squaredNorm();
    const double log_perplexity = std::log(opt.perplexity);
    parallel_for(0, n, grain, [&](Index begin, Index end) {
      std::vector<double> dist(nn);
      for (Index i = begin; i < end; ++i) {
        for (Index j = 0; j < n; ++j)
          dist[std::size_t(j)] = std::max(0.0, norms(i) + norms(j) - 2 * z.row(i).dot(z.row(j)));
        detail::tsne_row_affinities(dist.data(), n, i, log_perplexity, p.data() + std::size_t(i) * nn);
      }
    });
  }
  for (std::size_t i = 0; i < nn; ++i)
    for (std::size_t j = i + 1; j < nn; ++j) {
      const double s = std::max((p[i * nn + j] + p[j * nn + i]) / (2.0 * double(n)), 1e-12);
      p[i * nn + j] = p[j * nn + i] = s;
    }

  std::vector<double> y(2 * nn), update(2 * nn, 0.0), gains(2 * nn, 1.0), grad(2 * nn);
  for (Index i = 0; i < n; ++i) {
    Rng rng = Rng::stream(opt.seed, std::uint64_t(i));
    y[2 * std::size_t(i)] = 1e-4 * rng.normal();
    y[2 * std::size_t(i) + 1] = 1e-4 * rng.normal();
  }
  const double lr = opt.learning_rate > 0 ? opt.learning_rate : std::max(double(n) / opt.early_exaggeration / 4, 50.0);
  // Per row i: A_i = sum_j P_ij w_ij (y_i - y_j), B_i = sum_j w_ij^2 (y_i - y_j) and Z_i = sum_j w_ij with
  // w_ij = 1 / (1 + |y_i - y_j|^2); then dC/dy_i = 4 (exaggeration A_i - B_i / Z), Z = sum_i Z_i in row order.
  std::vector<double> a(2 * nn), b(2 * nn), zrow(nn);
  auto rows = [&](Index begin, Index end) {
    for (Index i = begin; i < end; ++i) {
      const std::size_t si = std::size_t(i);
      const double yi0 = y[2 * si], yi1 = y[2 * si + 1];
      const double* pi = p.data() + si * nn;
      double a0 = 0, a1 = 0, b0 = 0, b1 = 0, zi = 0;
      for (std::size_t j = 0; j < nn; ++j) {
        if (j == si) continue;
        const double d0 = yi0 - y[2 * j], d1 = yi1 - y[2 * j + 1];
        const double w = 1.0 / (1.0 + d0 * d0 + d1 * d1);
        zi += w;
        a0 += pi[j] * w * d0;
        a1 += pi[j] * w * d1;
        b0 += w * w * d0;
        b1 += w * w * d1;
      }
      a[2 * si] = a0, a[2 * si + 1] = a1, b[2 * si] = b0, b[2 * si + 1] = b1, zrow[si] = zi;
    }
  };
  for (int it = 0; it < opt.iterations; ++it) {
    const bool exaggerating = it < opt.exaggeration_iterations;
    const double exaggeration = exaggerating ? opt.early_exaggeration : 1.0;
    const double momentum = exaggerating ? 0.5 : 0.8;
    parallel_for(0, n, grain, rows);
    double z = 0;
    for (std::size_t i = 0; i < nn; ++i) z += zrow[i];
    for (std::size_t k = 0; k < 2 * nn; ++k) {
      grad[k] = 4 * (exaggeration * a[k] - b[k] / z);
      gains[k] = (grad[k] > 0) != (update[k] > 0) ? gains[k] + 0.2 : gains[k] * 0.8;
      gains[k] = std::max(gains[k], 0.01);
      update[k] = momentum * update[k] - lr * gains[k] * grad[k];
      y[k] += update[k];
    }
    double m0 = 0, m1 = 0;
    for (std::size_t i = 0; i < nn; ++i) m0 += y[2 * i], m1 += y[2 * i + 1];
    m0 /= double(n), m1 /= double(n);
    for (std::size_t i = 0; i < nn; ++i) y[2 * i] -= m0, y[2 * i + 1] -= m1;
  }

  Tsne r;
  r.embedding = Tensor<float>::empty({n, 2});
  for (std::size_t k = 0; k < 2 * nn; ++k) r.embedding.data()[k] = static_cast<float>(y[k]);
  // KL(P || Q) = sum_ij P_ij log(P_ij / Q_ij), Q_ij = w_ij / Z.
  std::vector<double> klrow(nn);
  parallel_for(0, n, grain, [&](Index begin, Index end) {
    for (Index i = begin; i < end; ++i) {
      const std::size_t si = std::size_t(i);
      double s = 0, zi = 0;
      for (std::size_t j = 0; j < nn; ++j) {
        if (j == si) continue;
        const double d0 = y[2 * si] - y[2 * j], d1 = y[2 * si + 1] - y[2 * j + 1];
        const double w = 1.0 / (1.0 + d0 * d0 + d1 * d1);
        zi += w;
        s += p[si * nn + j] * std::log(p[si * nn + j] / w);
      }
      klrow[si] = s, zrow[si] = zi;
    }
  });
  double z = 0, kl = 0, total_p = 0;
  for (std::size_t i = 0; i < nn; ++i) z += zrow[i], kl += klrow[i];
  for (std::size_t i = 0; i < nn; ++i)
    for (std::size_t j = 0; j < nn; ++j)
      if (i != j) total_p += p[i * nn + j];
  // sum P log(P / (w / Z)) = sum P log(P / w) + log(Z) sum P.
  r.kl_divergence = kl + std::log(z) * total_p;
  return r;
}

SIMILE_INLINE std::vector<Index> sample_rows(Index n, Index count, std::uint64_t seed) {
  check(n >= 0 && count >= 0, "sample_rows: n ", n, " and count ", count, " must be >= 0");
  std::vector<Index> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), Index(0));
  if (count >= n) return idx;
  // A partial Fisher-Yates shuffle: the first `count` places are a uniform sample.
  Rng rng(seed);
  for (Index i = 0; i < count; ++i) {
    const Index j = i + static_cast<Index>(rng.below(static_cast<std::uint64_t>(n - i)));
    std::swap(idx[std::size_t(i)], idx[std::size_t(j)]);
  }
  idx.resize(std::size_t(count));
  std::sort(idx.begin(), idx.end());
  return idx;
}

SIMILE_INLINE Tensor<float> gather_rows(const Tensor<float>& x, const std::vector<Index>& rows) {
  check<ShapeError>(x.rank() >= 1, "gather_rows: a tensor of rank ", x.rank(), " has no rows");
  const Index n = x.dim(0);
  Shape shape = x.shape();
  shape[0] = static_cast<Index>(rows.size());
  Tensor<float> out = Tensor<float>::empty(shape);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    check(rows[r] >= 0 && rows[r] < n, "gather_rows: row ", rows[r], " of ", n);
    x.slice_rows(rows[r], rows[r] + 1).copy_to(out.slice_rows(Index(r), Index(r) + 1));
  }
  return out;
}

}  // namespace simile
