#pragma once
/// \file
/// `ViewSource`: what the trainer trains on, whatever the data. For batch b of epoch e it makes the V
/// views of the batch's B samples stacked as one tensor [V * B, ...] (`Views`), with their labels and
/// dataset indices. The sources for images, vectors and token sequences (a `Loader` and a multi-view
/// transform) are in `augment/view_sources.hpp`; a user's own data implements this interface.
///
/// A virtual interface rather than a concept: the trainer is a class template over the element type
/// only (`Trainer<float>`, instantiated once per type whatever the data), and a tool picks the kind
/// of data at run time. One virtual call per batch costs nothing next to making the batch.
///
/// Contract: `batch(b)` depends only on (seed, epoch, b), never on the calls before it, so that a run
/// resumed at (epoch, batch) sees the batches it would have seen.

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "simile/core/error.hpp"
#include "simile/core/tensor.hpp"

namespace simile {

/// The V views of a batch of B samples as one tensor `data` [V * B, ...]: rows v * B .. (v + 1) * B - 1
/// are view v, so row v * B + i is view v of sample i. A network takes all views in one batch;
/// `view(v)` is one view's rows without a copy.
template <class E>
struct Views {
  Tensor<E> data;  ///< [V * B, ...]
  int count = 0;   ///< V

  /// B, the samples in the batch.
  Index batch() const { return count > 0 ? data.dim(0) / count : 0; }
  /// View v, rows [v * B, (v + 1) * B) of `data` (shares its storage).
  Tensor<E> view(int v) const {
    check(v >= 0 && v < count, "Views::view: view ", v, " of ", count);
    return data.slice_rows(Index(v) * batch(), Index(v + 1) * batch());
  }
  /// The same views with elements of type U (no copy when U is E).
  template <class U>
  Views<U> to() const {
    if constexpr (std::is_same_v<U, E>) return *this;
    else return {data.template to<U>(), count};
  }
};

/// Batch b of an epoch: its views, and for each of its B samples the label (empty when the data has
/// none) and the dataset index.
struct ViewBatch {
  Views<float> views;                ///< the V views, [V * B, ...] (token ids as floats for text)
  std::vector<std::int64_t> labels;  ///< B labels, sample i's at i; empty when the data has none
  std::vector<Index> indices;        ///< B dataset indices, sample i's at i
};

/// A source of batches of views (see the file comment).
class ViewSource {
 public:
  virtual ~ViewSource() = default;

  /// Batches in the current epoch (after `set_epoch`).
  virtual Index num_batches() const = 0;
  /// Starts epoch `e` (the batch order and the views depend on it).
  virtual void set_epoch(std::uint64_t e) = 0;
  /// Batch `b` of the current epoch, views stacked; b in [0, num_batches()).
  virtual ViewBatch batch(Index b) = 0;
  /// V, the views of every sample.
  virtual int num_views() const = 0;
  /// The seed of the batch order and the views (recorded in checkpoints).
  virtual std::uint64_t seed() const = 0;
  /// True when batches come with labels.
  virtual bool has_labels() const = 0;
  /// What the source reads, for messages ("12 images in batches of 256").
  virtual std::string describe() const = 0;
  /// Data-parallel training: from now on `batch(b)` gives only shard `index` of `count` of batch b, the
  /// same samples' views as in one process (views depend on (seed, epoch, sample, view), not on the
  /// rank). Shard r holds samples [r m / count, (r + 1) m / count) of a batch of m. Sources that
  /// cannot shard say so (the default).
  virtual void set_shard(int index, int count) {
    check(count == 1 && index == 0, "ViewSource::set_shard: this source (", describe(),
          ") cannot split its batches over ranks");
  }
};

}  // namespace simile
