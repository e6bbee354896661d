#pragma once
/// \file
/// The definitions behind `simile/data/dataset.hpp`: compiled once in `src/data/dataset.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/data/dataset.hpp"

namespace simile::detail {

SIMILE_INLINE void check_labels(const char* who, Index n, const std::vector<std::int64_t>& labels) {
  check<ShapeError>(labels.empty() || static_cast<Index>(labels.size()) == n, who, ": ", labels.size(),
                    " labels for ", n, " samples (give none or one per sample)");
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE ImageSample ImageDataset::get(Index i) const {
  detail::check_index("ImageDataset::get", i, size());
  return {images_.data() + i * c_ * h_ * w_, c_, h_, w_, labels_.empty() ? no_label : labels_[std::size_t(i)]};
}

SIMILE_INLINE VectorSample VectorDataset::get(Index i) const {
  detail::check_index("VectorDataset::get", i, size());
  return {{features_.data() + i * d_, static_cast<std::size_t>(d_)}, labels_.empty() ? no_label : labels_[std::size_t(i)]};
}

SIMILE_INLINE TextSample TextDataset::get(Index i) const {
  detail::check_index("TextDataset::get", i, size());
  const auto& s = sequences_[std::size_t(i)];
  return {{s.data(), s.size()}, labels_.empty() ? no_label : labels_[std::size_t(i)]};
}

SIMILE_INLINE Split stratified_split(const std::vector<std::int64_t>& labels, double fraction, std::uint64_t seed) {
  check<ValueError>(fraction >= 0.0 && fraction <= 1.0, "stratified_split: fraction ", fraction,
                    " outside [0, 1]");
  std::map<std::int64_t, std::vector<Index>> by_class;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    check<ValueError>(labels[i] >= 0, "stratified_split: sample ", i, " has label ", labels[i],
                      ", expected a class id >= 0");
    by_class[labels[i]].push_back(static_cast<Index>(i));
  }
  Split s;
  for (auto& [label, idx] : by_class) {
    Rng rng = Rng::stream(seed, label);
    shuffle(idx, rng);
    auto n = static_cast<double>(idx.size());
    auto keep = static_cast<std::size_t>(std::llround(fraction * n));
    if (fraction > 0 && keep == 0) keep = 1;
    s.kept.insert(s.kept.end(), idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(keep));
    s.rest.insert(s.rest.end(), idx.begin() + static_cast<std::ptrdiff_t>(keep), idx.end());
  }
  std::sort(s.kept.begin(), s.kept.end());
  std::sort(s.rest.begin(), s.rest.end());
  return s;
}

SIMILE_INLINE ImageDataset subset(const ImageDataset& d, std::span<const Index> indices) {
  Index c = d.channels(), h = d.height(), w = d.width(), per = c * h * w;
  Tensor<std::uint8_t> out = Tensor<std::uint8_t>::empty({static_cast<Index>(indices.size()), c, h, w});
  std::vector<std::int64_t> labels;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    ImageSample s = d.get(indices[k]);
    std::copy(s.pixels, s.pixels + per, out.data() + static_cast<Index>(k) * per);
    if (d.has_labels()) labels.push_back(s.label);
  }
  return ImageDataset(out, std::move(labels));
}

SIMILE_INLINE VectorDataset subset(const VectorDataset& d, std::span<const Index> indices) {
  Tensor<float> out = Tensor<float>::empty({static_cast<Index>(indices.size()), d.dim()});
  std::vector<std::int64_t> labels;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    VectorSample s = d.get(indices[k]);
    std::copy(s.features.begin(), s.features.end(), out.data() + static_cast<Index>(k) * d.dim());
    if (d.has_labels()) labels.push_back(s.label);
  }
  return VectorDataset(out, std::move(labels));
}

SIMILE_INLINE TextDataset subset(const TextDataset& d, std::span<const Index> indices) {
  std::vector<std::vector<Token>> seqs;
  std::vector<std::int64_t> labels;
  for (Index i : indices) {
    TextSample s = d.get(i);
    seqs.emplace_back(s.tokens.begin(), s.tokens.end());
    if (d.has_labels()) labels.push_back(s.label);
  }
  return TextDataset(std::move(seqs), std::move(labels));
}

}  // namespace simile
