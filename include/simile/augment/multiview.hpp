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

#include "simile/augment/geometry.hpp"
#include "simile/augment/image.hpp"
#include "simile/core/parallel.hpp"
#include "simile/data/dataset.hpp"

namespace simile {

/// Per-thread working images for `MultiView::make_batch`; keep one alive across batches so that
/// steady-state batches allocate nothing but their output tensors (from the caching allocator).
struct ViewWorkspace {
  std::vector<Image> images;
};

class MultiView {
 public:
  MultiView() = default;
  /// One pipeline per view.
  explicit MultiView(std::vector<Pipeline> views) : views_(std::move(views)) {
    check<ValueError>(!views_.empty(), "MultiView: needs at least one view");
  }
  /// k views through the same pipeline (SimCLR, MoCo: k = 2).
  static MultiView same(const Pipeline& pipeline, int k = 2) {
    check<ValueError>(k >= 1, "MultiView::same: view count ", k, " must be at least 1");
    return MultiView(std::vector<Pipeline>(std::size_t(k), pipeline));
  }
  /// Multi-crop (Caron et al. 2020, SwAV): `n_global` views through `global` then `n_local` through
  /// `local` (typically a RandomResizedCrop to a smaller size with scale (0.05, 0.4)).
  static MultiView multi_crop(const Pipeline& global, int n_global, const Pipeline& local, int n_local) {
    check<ValueError>(n_global >= 1 && n_local >= 0, "MultiView::multi_crop: ", n_global, " global and ", n_local,
                      " local views (need >= 1 and >= 0)");
    std::vector<Pipeline> v(std::size_t(n_global), global);
    v.insert(v.end(), std::size_t(n_local), local);
    return MultiView(std::move(v));
  }

  int count() const { return static_cast<int>(views_.size()); }
  const Pipeline& pipeline(int v) const { return views_[std::size_t(v)]; }

  /// The random stream of view `v` of sample `index` in `epoch`.
  static Rng stream(std::uint64_t seed, std::uint64_t epoch, Index index, int view) {
    return Rng::stream(seed, epoch, static_cast<std::uint64_t>(index), static_cast<std::uint64_t>(view));
  }

  /// Builds view `v` of one sample into `work` (uint8 pixels -> floats in [0, 1] -> pipeline v).
  void make(const ImageSample& sample, std::uint64_t seed, std::uint64_t epoch, Index index, int v,
            Image& work) const {
    check<ValueError>(v >= 0 && v < count(), "MultiView::make: view ", v, " of ", count());
    work.load(sample.pixels, sample.channels, sample.height, sample.width);
    Rng rng = stream(seed, epoch, index, v);
    views_[std::size_t(v)].apply(work, rng);
  }

  /// The views of one sample as tensors [C, H, W] (allocates; for tools and tests).
  std::vector<Tensor<float>> views(const ImageSample& sample, std::uint64_t seed, std::uint64_t epoch,
                                   Index index) const {
    Image work;
    std::vector<Tensor<float>> out;
    for (int v = 0; v < count(); ++v) {
      make(sample, seed, epoch, index, v, work);
      out.push_back(work.to_tensor());
    }
    return out;
  }

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
  Tensor<float> make_stacked(const ImageDataset& data, std::span<const Index> indices, std::uint64_t seed,
                             std::uint64_t epoch, ViewWorkspace& ws) const {
    Tensor<float> all;
    fill(data, indices, seed, epoch, ws, &all);
    return all;
  }

 private:
  /// One tensor per view; with `stacked`, they are the row blocks of one tensor [V * B, ...] stored
  /// there.
  std::vector<Tensor<float>> fill(const ImageDataset& data, std::span<const Index> indices, std::uint64_t seed,
                                  std::uint64_t epoch, ViewWorkspace& ws, Tensor<float>* stacked) const {
    const char* who = stacked ? "MultiView::make_stacked" : "MultiView::make_batch";
    check<ValueError>(count() > 0, who, ": no views configured");
    auto B = static_cast<Index>(indices.size());
    std::vector<Tensor<float>> out(static_cast<std::size_t>(count()));
    if (B == 0) return out;
    if (ws.images.size() < std::size_t(num_threads())) ws.images.resize(std::size_t(num_threads()));
    // Sample 0 first, on this thread: its views fix the output shapes.
    std::vector<Shape> shapes(static_cast<std::size_t>(count()));
    for (int v = 0; v < count(); ++v) {
      Image& work = ws.images[0];
      make(data.get(indices[0]), seed, epoch, indices[0], v, work);
      shapes[std::size_t(v)] = work.shape();
      if (!stacked) {
        out[std::size_t(v)] = Tensor<float>::empty({B, work.channels(), work.height(), work.width()});
      } else {
        check<ShapeError>(work.shape() == shapes[0], who, ": view ", v, " is ", work.shape(), " but view 0 is ",
                          shapes[0], " (stacked views need one size; multi-crop views need make_batch)");
        if (v == 0) *stacked = Tensor<float>::empty({count() * B, work.channels(), work.height(), work.width()});
        out[std::size_t(v)] = stacked->slice_rows(v * B, (v + 1) * B);
      }
      std::memcpy(out[std::size_t(v)].data(), work.data(), std::size_t(work.numel()) * sizeof(float));
    }
    parallel_chunked(1, B, 1, [&](int chunk, Index begin, Index end) {
      Image& work = ws.images[std::size_t(chunk)];
      for (Index b = begin; b < end; ++b) {
        Index i = indices[std::size_t(b)];
        ImageSample s = data.get(i);
        for (int v = 0; v < count(); ++v) {
          make(s, seed, epoch, i, v, work);
          const Shape& want = shapes[std::size_t(v)];
          check<ShapeError>(work.shape() == want, who, ": view ", v, " of sample ", i, " is ", work.shape(),
                            " but the first sample's is ", want,
                            " (end the pipeline with a fixed-size crop or resize)");
          Index per = work.numel();
          std::memcpy(out[std::size_t(v)].data() + b * per, work.data(), std::size_t(per) * sizeof(float));
        }
      }
    });
    return out;
  }

  std::vector<Pipeline> views_;
};

}  // namespace simile
