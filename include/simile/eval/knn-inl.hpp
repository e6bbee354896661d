#pragma once
/// \file
/// The definitions behind `simile/eval/knn.hpp`: compiled once in `src/eval/knn.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/eval/knn.hpp"

namespace simile::detail {

SIMILE_INLINE Tensor<float> normalized_rows(const Tensor<float>& x) {
  Tensor<float> y = x.clone();
  auto m = y.matrix();
  parallel_for(0, m.rows(), 256, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) {
      float n = m.row(i).norm();
      if (n > 0) m.row(i) /= n;
    }
  });
  return y;
}

SIMILE_INLINE std::int64_t count_classes(std::span<const std::int64_t> labels, const char* fn) {
  std::int64_t c = 0;
  for (std::int64_t l : labels) {
    check(l >= 0, fn, ": negative label ", l);
    c = std::max(c, l + 1);
  }
  return c;
}

SIMILE_INLINE void check_split(const char* fn, const Tensor<float>& train, std::span<const std::int64_t> train_labels,
                               const Tensor<float>& test, std::span<const std::int64_t> test_labels) {
  check<ShapeError>(train.rank() == 2 && test.rank() == 2 && train.dim(1) == test.dim(1), fn,
                    ": expected train [N, D] and test [M, D], got ", train.shape(), " and ", test.shape());
  check<ShapeError>(static_cast<Index>(train_labels.size()) == train.dim(0) &&
                        static_cast<Index>(test_labels.size()) == test.dim(0),
                    fn, ": ", train_labels.size(), " train labels for ", train.dim(0), " rows, ", test_labels.size(),
                    " test labels for ", test.dim(0), " rows");
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE KnnResult knn_classify(const Tensor<float>& train, std::span<const std::int64_t> train_labels, const Tensor<float>& test, std::span<const std::int64_t> test_labels, const KnnOptions& opt) {
  detail::check_split("knn_classify", train, train_labels, test, test_labels);
  check(opt.k >= 1 && opt.k <= train.dim(0), "knn_classify: k = ", opt.k, " must lie in [1, ", train.dim(0), "]");
  check(opt.temperature > 0, "knn_classify: temperature ", opt.temperature, " must be positive");
  check(opt.tile >= 1, "knn_classify: tile ", opt.tile, " must be positive");
  const std::int64_t classes = detail::count_classes(train_labels, "knn_classify");

  // The test rows are normalized in a copy (one tile's worth of memory per 512 rows); the training rows are
  // not copied (60,000 x 1,152 floats would be 0.28 GB): each similarity block is scaled by their inverse norms.
  Tensor<float> te = detail::normalized_rows(test);
  const Index n = train.dim(0), m = te.dim(0);
  Eigen::RowVectorXf inv_norm(n);
  parallel_for(0, n, 256, [&](Index b, Index e) {
    for (Index j = b; j < e; ++j) {
      const float norm = train.matrix().row(j).norm();
      inv_norm(j) = norm > 0 ? 1.0f / norm : 0.0f;  // a zero row stays zero, as normalized_rows leaves it
    }
  });
  const Index tile = std::min(opt.tile, std::max<Index>(m, 1));
  Tensor<float> sims = Tensor<float>::empty({tile, n});
  KnnResult r;
  r.predictions.resize(static_cast<std::size_t>(m));
  const auto k = static_cast<std::size_t>(opt.k);
  for (Index t0 = 0; t0 < m; t0 += tile) {
    const Index rows = std::min(tile, m - t0);
    auto s = sims.matrix(tile, n).topRows(rows);
    s.noalias() = te.matrix().middleRows(t0, rows) * train.matrix().transpose();
    parallel_for(0, rows, 8, [&](Index b, Index e) {
      std::vector<std::pair<float, Index>> cand(static_cast<std::size_t>(n));
      std::vector<double> votes(static_cast<std::size_t>(classes));
      for (Index i = b; i < e; ++i) {
        for (Index j = 0; j < n; ++j) cand[static_cast<std::size_t>(j)] = {s(i, j) * inv_norm(j), j};  // cosine
        // Largest similarity first; ties broken by the lower training index, so the result is exact.
        auto greater = [](const auto& x, const auto& y) { return x.first > y.first || (x.first == y.first && x.second < y.second); };
        std::nth_element(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(k - 1), cand.end(), greater);
        std::fill(votes.begin(), votes.end(), 0.0);
        for (std::size_t q = 0; q < k; ++q)
          votes[static_cast<std::size_t>(train_labels[static_cast<std::size_t>(cand[q].second)])] +=
              std::exp((cand[q].first - 1.0) / opt.temperature);  // shifted by the max possible (1): no overflow
        r.predictions[static_cast<std::size_t>(t0 + i)] =
            std::max_element(votes.begin(), votes.end()) - votes.begin();
      }
    });
  }
  Index correct = 0;
  for (Index i = 0; i < m; ++i) correct += r.predictions[static_cast<std::size_t>(i)] == test_labels[static_cast<std::size_t>(i)];
  r.accuracy = m ? double(correct) / double(m) : 0.0;
  return r;
}

}  // namespace simile
