#pragma once
/// \file
/// The definitions behind `simile/augment/vector.hpp`: compiled once in `src/augment/vector.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/augment/vector.hpp"

namespace simile {

SIMILE_INLINE void FeatureMasking::apply(std::span<float> x, Rng& rng) const {
  for (float& v : x)
    if (rng.bernoulli(p)) v = value;
}

SIMILE_INLINE void ScarfCorruption::apply(std::span<float> x, Rng& rng) const {
  Index N = data.shape()[0], D = data.shape()[1];  // not dim(): it formats a message on every call
  check<ShapeError>(static_cast<Index>(x.size()) == D, "ScarfCorruption: row has ", x.size(),
                    " features, the table has ", D);
  auto need = static_cast<Index>(std::llround(rate * static_cast<double>(D)));
  for (Index j = 0; j < D && need > 0; ++j) {
    if (static_cast<Index>(rng.below(std::uint64_t(D - j))) < need) {
      auto row = static_cast<Index>(rng.below(std::uint64_t(N)));
      x[std::size_t(j)] = data.data()[row * D + j];
      --need;
    }
  }
}

SIMILE_INLINE void VectorPipeline::apply(std::span<float> x, Rng& rng) const {
  for (std::size_t k = 0; k < steps_.size(); ++k) {
    Rng step = rng.split(k);
    steps_[k](x, step);
  }
}

SIMILE_INLINE VectorMultiView VectorMultiView::same(const VectorPipeline& p, int k) {
  check<ValueError>(k >= 1, "VectorMultiView::same: view count ", k, " must be at least 1");
  return VectorMultiView(std::vector<VectorPipeline>(static_cast<std::size_t>(k), p));
}

SIMILE_INLINE Tensor<float> VectorMultiView::make_stacked(const VectorDataset& data, std::span<const Index> indices, std::uint64_t seed, std::uint64_t epoch) const {
  auto B = static_cast<Index>(indices.size());
  Index D = data.dim();
  Tensor<float> out = Tensor<float>::empty({Index(count()) * B, D});
  parallel_for(0, B, 8, [&](Index begin, Index end) {
    for (Index b = begin; b < end; ++b) {
      Index i = indices[std::size_t(b)];
      VectorSample s = data.get(i);
      for (int v = 0; v < count(); ++v) {
        std::span<float> row(out.data() + (Index(v) * B + b) * D, std::size_t(D));
        std::copy(s.features.begin(), s.features.end(), row.begin());
        Rng rng = Rng::stream(seed, epoch, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(v));
        views_[std::size_t(v)].apply(row, rng);
      }
    }
  });
  return out;
}

}  // namespace simile
