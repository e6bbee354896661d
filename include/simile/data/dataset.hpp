#pragma once
/// \file
/// The `Dataset` concept and the in-memory datasets the readers return: images (uint8 [N, C, H, W]),
/// feature vectors (float [N, D]) and token sequences, each with optional integer labels; and seeded
/// stratified subsets (keep 10 % of the labels of every class, deterministic for a seed).

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <map>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/error.hpp"
#include "simile/core/rng.hpp"
#include "simile/core/tensor.hpp"

namespace simile {

/// A random-access collection: `size()` samples, `get(i)` returns sample i for 0 <= i < size().
template <class D>
concept Dataset = requires(const D& d, Index i) {
  { d.size() } -> std::convertible_to<Index>;
  d.get(i);
};

/// Label of an unlabeled sample.
inline constexpr std::int64_t no_label = -1;

namespace detail {
void check_labels(const char* who, Index n, const std::vector<std::int64_t>& labels);
inline void check_index(const char* who, Index i, Index n) {
  check<ValueError>(i >= 0 && i < n, who, ": index ", i, " out of range for ", n, " samples");
}
}  // namespace detail

/// One image of an `ImageDataset`: a view of its uint8 pixels [channels, height, width].
struct ImageSample {
  const std::uint8_t* pixels = nullptr;  ///< channels * height * width values, row-major; owned by the dataset
  /// @{
  /// The image's size: channels, height and width.
  Index channels = 0, height = 0, width = 0;
  /// @}
  std::int64_t label = no_label;  ///< the class, or `no_label` when the dataset has none
};

/// Images as uint8 [N, C, H, W] (a [N, H, W] tensor is viewed as one channel), with optional labels.
class ImageDataset {
 public:
  ImageDataset() = default;
  /// `images` is [N, H, W] or [N, C, H, W]; `labels` is empty or has N entries.
  explicit ImageDataset(Tensor<std::uint8_t> images, std::vector<std::int64_t> labels = {})
      : labels_(std::move(labels)) {
    check<ShapeError>(images.rank() == 3 || images.rank() == 4, "ImageDataset: images have shape ",
                      images.shape(), ", expected [N, H, W] or [N, C, H, W]");
    images_ = images.rank() == 4 ? images
                                 : images.reshape({images.dim(0), 1, images.dim(1), images.dim(2)});
    // Cached: Shape::dim() checks its argument and formats the shape for the message on every call,
    // too slow for get() in a per-sample loop.
    n_ = images_.shape()[0], c_ = images_.shape()[1], h_ = images_.shape()[2], w_ = images_.shape()[3];
    detail::check_labels("ImageDataset", n_, labels_);
  }

  /// N, the number of images.
  Index size() const { return n_; }
  /// @{
  /// C, H and W of [N, C, H, W], the size of every image.
  Index channels() const { return c_; }
  Index height() const { return h_; }
  Index width() const { return w_; }
  /// @}
  /// True when the images came with labels.
  bool has_labels() const { return !labels_.empty(); }
  /// uint8 [N, C, H, W].
  const Tensor<std::uint8_t>& images() const { return images_; }
  /// N labels, image i's at i; empty when there are none.
  const std::vector<std::int64_t>& labels() const { return labels_; }

  /// Image `i` as a view of the dataset's pixels. Throws ValueError unless 0 <= i < size().
  ImageSample get(Index i) const;

 private:
  Tensor<std::uint8_t> images_;
  std::vector<std::int64_t> labels_;
  Index n_ = 0, c_ = 0, h_ = 0, w_ = 0;
};

/// One row of a `VectorDataset`.
struct VectorSample {
  std::span<const float> features;  ///< the D features of the row, a view of the dataset's storage
  std::int64_t label = no_label;    ///< the class, or `no_label` when the dataset has none
};

/// Feature vectors float [N, D] with optional labels (tabular data, embeddings).
class VectorDataset {
 public:
  VectorDataset() = default;
  /// `features` is [N, D] (shared, not copied); `labels` is empty or has N entries. Throws ShapeError otherwise.
  explicit VectorDataset(Tensor<float> features, std::vector<std::int64_t> labels = {})
      : features_(std::move(features)), labels_(std::move(labels)) {
    check<ShapeError>(features_.rank() == 2, "VectorDataset: features have shape ", features_.shape(),
                      ", expected [N, D]");
    n_ = features_.shape()[0], d_ = features_.shape()[1];
    detail::check_labels("VectorDataset", n_, labels_);
  }
  /// N, the number of rows.
  Index size() const { return n_; }
  /// D, the features per row.
  Index dim() const { return d_; }
  /// True when the rows came with labels.
  bool has_labels() const { return !labels_.empty(); }
  /// float [N, D].
  const Tensor<float>& features() const { return features_; }
  /// N labels, row i's at i; empty when there are none.
  const std::vector<std::int64_t>& labels() const { return labels_; }

  /// Row `i` as a view of the features. Throws ValueError unless 0 <= i < size().
  VectorSample get(Index i) const;

 private:
  Tensor<float> features_;
  std::vector<std::int64_t> labels_;
  Index n_ = 0, d_ = 0;
};

/// Token id in a vocabulary.
using Token = std::int32_t;

/// One sequence of a `TextDataset`.
struct TextSample {
  std::span<const Token> tokens;  ///< the sequence's token ids, a view of the dataset's storage
  std::int64_t label = no_label;  ///< the class, or `no_label` when the dataset has none
};

/// Token sequences of varying length with optional labels.
class TextDataset {
 public:
  TextDataset() = default;
  /// N sequences of any lengths (empty ones too); `labels` is empty or has N entries, else ShapeError.
  explicit TextDataset(std::vector<std::vector<Token>> sequences, std::vector<std::int64_t> labels = {})
      : sequences_(std::move(sequences)), labels_(std::move(labels)) {
    detail::check_labels("TextDataset", size(), labels_);
  }
  /// N, the number of sequences.
  Index size() const { return static_cast<Index>(sequences_.size()); }
  /// True when the sequences came with labels.
  bool has_labels() const { return !labels_.empty(); }
  /// The N sequences of token ids.
  const std::vector<std::vector<Token>>& sequences() const { return sequences_; }
  /// N labels, sequence i's at i; empty when there are none.
  const std::vector<std::int64_t>& labels() const { return labels_; }

  /// Sequence `i` as a view of the dataset's storage. Throws ValueError unless 0 <= i < size().
  TextSample get(Index i) const;

 private:
  std::vector<std::vector<Token>> sequences_;
  std::vector<std::int64_t> labels_;
};

/// Shuffles `v` in place by Fisher-Yates with draws from `rng`.
template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

/// The two parts of a stratified split, as sorted sample indices.
struct Split {
  std::vector<Index> kept;  ///< the chosen fraction of every class
  std::vector<Index> rest;  ///< every other sample
};

/// Splits sample indices class by class: of each class's n samples, round(fraction * n) are kept (at
/// least one when fraction > 0), chosen by a shuffle from `Rng::stream(seed, label)`. The same labels,
/// fraction and seed give the same split on every machine. Requires 0 <= fraction <= 1 and labels >= 0.
Split stratified_split(const std::vector<std::int64_t>& labels, double fraction, std::uint64_t seed);

/// @{
/// The samples of `d` at `indices` (copied, in that order, repeats allowed), with their labels when `d`
/// has labels. Throws ValueError when an index is out of range.
ImageDataset subset(const ImageDataset& d, std::span<const Index> indices);
VectorDataset subset(const VectorDataset& d, std::span<const Index> indices);
TextDataset subset(const TextDataset& d, std::span<const Index> indices);
/// @}

/// A labeled dataset reduced to a stratified `fraction` of each class (see `stratified_split`).
template <class D>
  requires requires(const D& d) { d.labels(); }
D stratified_subset(const D& d, double fraction, std::uint64_t seed) {
  check<ValueError>(d.has_labels(), "stratified_subset: the dataset has no labels");
  Split s = stratified_split(d.labels(), fraction, seed);
  return subset(d, s.kept);
}

/// The first `n` samples of `d` (copied), all of them when `n` >= `d.size()`: a smaller run on the same data.
template <class D>
  requires requires(const D& d, std::span<const Index> idx) { subset(d, idx); }
D first_samples(const D& d, Index n) {
  check<ValueError>(n >= 0, "first_samples: n ", n, " is negative");
  std::vector<Index> idx(static_cast<std::size_t>(std::min(n, d.size())));
  std::iota(idx.begin(), idx.end(), Index(0));
  return subset(d, idx);
}

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/data/dataset-inl.hpp"
#endif
