#pragma once
/// \file
/// The trainer's view sources (`ViewSource`, `data/view_source.hpp`) for the three kinds of data: a
/// `Loader` gives the batch's indices, a multi-view transform writes the V views of those samples
/// into one stacked tensor [V * B, ...].
/// - `ImageViewSource`: `Loader<ImageDataset>` + `MultiView`: float [V * B, C, H, W], each view written
///   straight into its rows (no copy after augmentation);
/// - `VectorViewSource`: `Loader<VectorDataset>` + `VectorMultiView` (SCARF and the like): float [V * B, D];
/// - `TextViewSource`: `Loader<TextDataset>` + `TextMultiView`: token ids [V * B, L] as floats (exact for
///   ids below 2^24), padded with `Vocabulary::pad` to the longest sequence of the batch's views; an
///   encoder reads the padding from the ids;
/// - `TextPairViewSource`: the same for given positive pairs (two aligned `TextDataset`s), [2B, L].
///
/// View v of sample i in epoch e depends only on (seed, e, i, v), and the order only on (seed, e): the
/// batches are the same at any thread count and after resuming.

#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "simile/augment/multiview.hpp"
#include "simile/augment/text.hpp"
#include "simile/augment/vector.hpp"
#include "simile/data/loader.hpp"
#include "simile/data/view_source.hpp"

namespace simile {

/// What the three sources share: a loader (held by value; datasets share their storage) and the
/// bookkeeping around a batch. `Derived::stacked(indices)` makes the stacked views of the samples.
template <Dataset D>
class LoaderViewSource : public ViewSource {
 public:
  /// The loader's batches per epoch (sharding splits each batch, not their count).
  Index num_batches() const override { return loader_.num_batches(); }
  /// Starts epoch `e`: the loader reshuffles with (seed, e).
  void set_epoch(std::uint64_t e) override { loader_.set_epoch(e); }
  /// The loader's seed (`LoaderOptions::seed`), which also seeds the views.
  std::uint64_t seed() const override { return loader_.options().seed; }
  /// Whether the dataset has labels.
  bool has_labels() const override { return loader_.dataset().has_labels(); }
  /// "<N> samples in batches of <B>".
  std::string describe() const override {
    return simile::detail::str(loader_.dataset().size(), " samples in batches of ", loader_.options().batch_size);
  }
  /// Shards every batch through the loader (`Loader::set_shard`): rank `index` of `count`.
  void set_shard(int index, int count) override { loader_.set_shard(index, count); }
  /// The loader: its dataset, options, epoch and batch indices.
  const Loader<D>& loader() const { return loader_; }

 protected:
  /// Takes the loader (a handle: the dataset's storage is shared, not copied).
  explicit LoaderViewSource(Loader<D> loader) : loader_(std::move(loader)) {}

  /// Batch `b`: `views` of its samples, with their labels and indices.
  ViewBatch with_views(Index b, Views<float> views) const {
    std::span<const Index> idx = loader_.indices(b);
    return {std::move(views), loader_.labels(idx), {idx.begin(), idx.end()}};
  }

  Loader<D> loader_;  ///< the batch order and the dataset
};

/// Images: `MultiView` writes the views of each batch into one tensor [V * B, C, H, W]; all views must
/// come out the same size (multi-crop views of two sizes cannot be stacked).
class ImageViewSource final : public LoaderViewSource<ImageDataset> {
 public:
  /// Batches of `loader`, each sample through `views`. Throws ValueError when `views` has no views.
  ImageViewSource(Loader<ImageDataset> loader, MultiView views)
      : LoaderViewSource(std::move(loader)), views_(std::move(views)) {
    check(views_.count() > 0, "ImageViewSource: the MultiView has no views");
  }
  int num_views() const override { return views_.count(); }
  ViewBatch batch(Index b) override {
    Tensor<float> x = views_.make_stacked(loader_.dataset(), loader_.indices(b), seed(), loader_.epoch(), workspace_);
    return with_views(b, {std::move(x), views_.count()});
  }

 private:
  MultiView views_;
  ViewWorkspace workspace_;  ///< per-thread images kept across batches
};

/// Feature vectors: `VectorMultiView` (e.g. SCARF corruption) writes [V * B, D].
class VectorViewSource final : public LoaderViewSource<VectorDataset> {
 public:
  /// Batches of `loader`, each sample through `views`.
  VectorViewSource(Loader<VectorDataset> loader, VectorMultiView views)
      : LoaderViewSource(std::move(loader)), views_(std::move(views)) {}
  int num_views() const override { return views_.count(); }
  ViewBatch batch(Index b) override {
    Tensor<float> x = views_.make_stacked(loader_.dataset(), loader_.indices(b), seed(), loader_.epoch());
    return with_views(b, {std::move(x), views_.count()});
  }

 private:
  VectorMultiView views_;
};

/// Token sequences: `TextMultiView` makes padded ids [V * B, L], given to the recipe as floats.
class TextViewSource final : public LoaderViewSource<TextDataset> {
 public:
  /// Batches of `loader`, each sentence through `views`.
  TextViewSource(Loader<TextDataset> loader, TextMultiView views)
      : LoaderViewSource(std::move(loader)), views_(std::move(views)) {}
  int num_views() const override { return views_.count(); }
  ViewBatch batch(Index b) override {
    TokenBatch t = views_.make_stacked(loader_.dataset(), loader_.indices(b), seed(), loader_.epoch());
    return with_views(b, {t.ids.to<float>(), views_.count()});
  }

 private:
  TextMultiView views_;
};

/// Pairs of token sequences (a sentence and its positive: an example sentence and its gloss, a query and
/// the document it retrieves): the loader walks `anchors`, view 0 of sample i is `anchors[i]` and view 1
/// is `positives[i]`, each through its own pipeline of `views` (two views), padded together to [2B, L].
class TextPairViewSource final : public LoaderViewSource<TextDataset> {
 public:
  /// Pairs (`anchors[i]`, `positives[i]`) in the order of the loader over `anchors`. Throws ValueError
  /// unless `views` has exactly two views, ShapeError when the two datasets differ in size.
  TextPairViewSource(Loader<TextDataset> anchors, TextDataset positives, TextMultiView views)
      : LoaderViewSource(std::move(anchors)), positives_(std::move(positives)), views_(std::move(views)) {
    check<ValueError>(views_.count() == 2, "TextPairViewSource: ", views_.count(), " views, expected 2");
    check<ShapeError>(positives_.size() == loader_.dataset().size(), "TextPairViewSource: ",
                      loader_.dataset().size(), " anchors but ", positives_.size(), " positives");
  }
  int num_views() const override { return 2; }
  ViewBatch batch(Index b) override {
    const TextDataset* sides[2] = {&loader_.dataset(), &positives_};
    TokenBatch t = views_.make_stacked(sides, loader_.indices(b), seed(), loader_.epoch());
    return with_views(b, {t.ids.to<float>(), 2});
  }
  std::string describe() const override {
    return simile::detail::str(loader_.dataset().size(), " pairs in batches of ", loader_.options().batch_size);
  }

 private:
  TextDataset positives_;
  TextMultiView views_;
};

}  // namespace simile
