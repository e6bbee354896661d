#pragma once
/// \file
/// `MultiView`: k augmented views of every sample, one `Pipeline` per view. Two equal pipelines are
/// SimCLR's and MoCo's views; two different ones are BYOL's asymmetric views (blur 1.0 / 0.1,
/// solarize 0 / 0.2); two global crops plus several small local crops are SwAV's multi-crop.
///
/// Randomness: view v of sample i in epoch e draws from `Rng::stream(seed, e, i, v)` and from nothing
/// else, so a batch's views are the same bits at any thread count and in any processing order, and a
/// sample gets the same views in an epoch whichever batch it lands in.

#include <cstring>
#include <span>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/augment/geometry.hpp"
#include "simile/augment/image.hpp"
#include "simile/core/parallel.hpp"
#include "simile/data/dataset.hpp"

namespace simile {

/// Per-thread working images for `MultiView::make_batch`; keep one alive across batches so that
/// steady-state batches allocate nothing but their output tensors (from the caching allocator).
struct ViewWorkspace {
  std::vector<Image> images;  ///< one working image per thread, grown on demand
};

/// k augmented views of every image, view v through its own `Pipeline` (see the file comment).
class MultiView {
 public:
  MultiView() = default;
  /// One pipeline per view.
  explicit MultiView(std::vector<Pipeline> views) : views_(std::move(views)) {
    check<ValueError>(!views_.empty(), "MultiView: needs at least one view");
  }
  /// k views through the same pipeline (SimCLR, MoCo: k = 2).
  static MultiView same(const Pipeline& pipeline, int k = 2);
  /// Multi-crop (Caron et al. 2020, SwAV): `n_global` views through `global` then `n_local` through
  /// `local` (typically a RandomResizedCrop to a smaller size with scale (0.05, 0.4)).
  static MultiView multi_crop(const Pipeline& global, int n_global, const Pipeline& local, int n_local);

  /// V, the number of views.
  int count() const { return static_cast<int>(views_.size()); }
  /// The pipeline of view `v`; requires 0 <= v < count() (not checked).
  const Pipeline& pipeline(int v) const { return views_[std::size_t(v)]; }

  /// The random stream of view `v` of sample `index` in `epoch`.
  static Rng stream(std::uint64_t seed, std::uint64_t epoch, Index index, int view) {
    return Rng::stream(seed, epoch, static_cast<std::uint64_t>(index), static_cast<std::uint64_t>(view));
  }

  /// Builds view `v` of one sample into `work` (uint8 pixels -> floats in [0, 1] -> pipeline v).
  void make(const ImageSample& sample, std::uint64_t seed, std::uint64_t epoch, Index index, int v, Image& work) const;

  /// The views of one sample as tensors [C, H, W] (allocates; for tools and tests).
  std::vector<Tensor<float>> views(const ImageSample& sample, std::uint64_t seed, std::uint64_t epoch, Index index) const;

  /// The views of the samples `indices` of `data`: one float tensor [B, C, H, W] per view, each view
  /// written straight into its slot. Samples are augmented in parallel (`parallel_for`, the thread
  /// count is `num_threads()`). Every view v must come out the same size for every sample (give its
  /// pipeline a crop or resize to a fixed size); ShapeError names the sample otherwise. Views of
  /// different sizes (multi-crop) are fine here.
  std::vector<Tensor<float>> make_batch(const ImageDataset& data, std::span<const Index> indices,
                                        std::uint64_t seed, std::uint64_t epoch, ViewWorkspace& ws) const {
    return fill(data, indices, seed, epoch, ws, nullptr);
  }

  /// The same views stacked as one tensor [V * B, C, H, W] (rows v * B .. (v + 1) * B - 1 are view v),
  /// written straight into it: a network takes all views as one batch without a copy. All views must
  /// come out the same size (ShapeError otherwise; multi-crop views need `make_batch`).
  Tensor<float> make_stacked(const ImageDataset& data, std::span<const Index> indices, std::uint64_t seed, std::uint64_t epoch, ViewWorkspace& ws) const;

 private:
  /// One tensor per view; with `stacked`, they are the row blocks of one tensor [V * B, ...] stored
  /// there.
  std::vector<Tensor<float>> fill(const ImageDataset& data, std::span<const Index> indices, std::uint64_t seed, std::uint64_t epoch, ViewWorkspace& ws, Tensor<float>* stacked) const;

  std::vector<Pipeline> views_;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/augment/multiview-inl.hpp"
#endif
