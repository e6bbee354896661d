#pragma once
/// \file
/// `Loader`: batches over a dataset in an order a sampler chooses per epoch (by default a Fisher-Yates
/// shuffle from `Rng::stream(seed, epoch)`), with a drop-last option. It gives each batch's dataset
/// indices and the plain batch (images as floats in [0, 1], vectors, padded token sequences); the
/// augmented views of a batch are made over those indices in `augment/` (`MultiView`, and the
/// trainer's view sources in `augment/view_sources.hpp`).
///
/// Determinism: the order depends only on (seed, epoch) and the sampler. The same seed gives the same
/// batches at every thread count.

#include <cstring>
#include <functional>
#include <numeric>
#include <span>
#include <vector>

#include "simile/core/parallel.hpp"
#include "simile/core/rng.hpp"
#include "simile/data/dataset.hpp"
#include "simile/data/text.hpp"

namespace simile {

/// Options of a `Loader`.
struct LoaderOptions {
  Index batch_size = 256;  ///< samples per batch (>= 1), the global batch when data-parallel
  bool shuffle = true;     ///< default sampler: shuffled (true) or in order (false)
  bool drop_last = false;  ///< drop a last batch smaller than batch_size
  std::uint64_t seed = 0;  ///< seeds the shuffle and the augmentations
};

/// The order of sample indices for one epoch, given the dataset size and the epoch. It may leave
/// samples out or repeat them (class-balanced sampling, a subset); every index must be in range.
using Sampler = std::function<std::vector<Index>(Index size, std::uint64_t epoch)>;

/// 0, 1, ..., size - 1 in every epoch.
inline Sampler sequential_sampler() {
  return [](Index size, std::uint64_t) {
    std::vector<Index> order(static_cast<std::size_t>(size));
    std::iota(order.begin(), order.end(), Index(0));
    return order;
  };
}

/// A uniform random permutation per epoch: Fisher-Yates driven by `Rng::stream(seed, epoch)`.
inline Sampler shuffled_sampler(std::uint64_t seed) {
  return [seed](Index size, std::uint64_t epoch) {
    std::vector<Index> order(static_cast<std::size_t>(size));
    std::iota(order.begin(), order.end(), Index(0));
    Rng rng = Rng::stream(seed, epoch);
    shuffle(order, rng);
    return order;
  };
}

/// A plain batch: images as float [B, C, H, W] in [0, 1] or vectors as float [B, D].
struct Batch {
  Tensor<float> data;  ///< [B, C, H, W] or [B, D], row i is sample `indices[i]`
  std::vector<std::int64_t> labels;  ///< empty for an unlabeled dataset
  std::vector<Index> indices;        ///< dataset index of each row
};

/// Batches over a dataset `D` (held by value: the in-memory datasets share their tensor storage).
template <Dataset D>
class Loader {
 public:
  /// Batches of `data`, in the order of `sampler` (by default shuffled or sequential as
  /// `options.shuffle` says); starts at epoch 0. Throws ValueError when batch_size < 1.
  explicit Loader(D data, LoaderOptions options = {}, Sampler sampler = {})
      : data_(std::move(data)), options_(options), sampler_(std::move(sampler)) {
    check<ValueError>(options_.batch_size >= 1, "Loader: batch_size ", options_.batch_size, " must be at least 1");
    if (!sampler_) sampler_ = options_.shuffle ? shuffled_sampler(options_.seed) : sequential_sampler();
    set_epoch(0);
  }

  /// The dataset.
  const D& dataset() const { return data_; }
  /// Labels of the samples `idx` (empty when the dataset has none).
  std::vector<std::int64_t> labels(std::span<const Index> idx) const {
    std::vector<std::int64_t> out;
    if (data_.has_labels())
      for (Index i : idx) out.push_back(data_.labels()[std::size_t(i)]);
    return out;
  }
  /// The options the loader was built with.
  const LoaderOptions& options() const { return options_; }
  /// The current epoch (`set_epoch`).
  std::uint64_t epoch() const { return epoch_; }

  /// Starts epoch `e`: asks the sampler for its order.
  void set_epoch(std::uint64_t e) {
    epoch_ = e;
    order_ = sampler_(data_.size(), e);
    for (std::size_t k = 0; k < order_.size(); ++k)
      check<ValueError>(order_[k] >= 0 && order_[k] < data_.size(), "Loader: the sampler returned index ",
                        order_[k], " at position ", k, " for a dataset of ", data_.size(), " samples");
  }
  /// The sample order of the current epoch.
  const std::vector<Index>& order() const { return order_; }

  /// Batches in the current epoch.
  Index num_batches() const {
    auto n = static_cast<Index>(order_.size());
    return options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
  }

  /// Data-parallel training: from now on `indices(b)` (and the batches) give shard `index` of
  /// `count` of each batch: with m samples in the batch, positions [m index / count, m (index + 1) /
  /// count). Every batch must split evenly: batch_size divisible by `count`, and a last partial batch
  /// too unless `drop_last` (ValueError otherwise, naming the sizes). `num_batches` is unchanged.
  void set_shard(int index, int count) {
    check<ValueError>(count >= 1 && index >= 0 && index < count, "Loader::set_shard: shard ", index, " of ", count);
    check<ValueError>(options_.batch_size % count == 0, "Loader::set_shard: the batch of ", options_.batch_size,
                      " samples does not split over ", count, " ranks (make it a multiple of ", count, ")");
    shard_ = index;
    shards_ = count;
    if (num_batches() > 0) (void)indices(num_batches() - 1);  // the last batch splits too
  }
  /// This loader's shard (0 unless `set_shard`).
  int shard() const { return shard_; }
  /// The number of shards (1 unless `set_shard`).
  int shards() const { return shards_; }

  /// Dataset indices of batch `b` of the current epoch (of this shard's part of it, see `set_shard`).
  std::span<const Index> indices(Index b) const {
    check<ValueError>(b >= 0 && b < num_batches(), "Loader: batch ", b, " out of range (epoch ", epoch_, " has ",
                      num_batches(), " batches)");
    auto begin = std::size_t(b * options_.batch_size);
    std::size_t end = std::min(order_.size(), begin + std::size_t(options_.batch_size));
    if (shards_ > 1) {
      const std::size_t m = end - begin, k = std::size_t(shards_);
      check<ValueError>(m % k == 0, "Loader: batch ", b, " of epoch ", epoch_, " has ", m, " samples, which do not split over ",
                        shards_, " ranks (set drop_last, or a dataset size whose last batch splits)");
      end = begin + m / k * std::size_t(shard_ + 1);
      begin += m / k * std::size_t(shard_);
    }
    return {order_.data() + begin, end - begin};
  }

  /// Batch `b` without augmentation: images as floats in [0, 1], vectors as they are.
  Batch batch(Index b) const
    requires std::same_as<D, ImageDataset> || std::same_as<D, VectorDataset>
  {
    std::span<const Index> idx = indices(b);
    auto B = static_cast<Index>(idx.size());
    Batch out;
    out.indices.assign(idx.begin(), idx.end());
    if constexpr (std::same_as<D, ImageDataset>) {
      Index c = data_.channels(), h = data_.height(), w = data_.width(), per = c * h * w;
      out.data = Tensor<float>::empty({B, c, h, w});
      float* dst = out.data.data();
      parallel_for(0, B, 16, [&](Index begin, Index end) {
        constexpr float inv = 1.0f / 255.0f;
        for (Index k = begin; k < end; ++k) {
          const std::uint8_t* src = data_.get(idx[std::size_t(k)]).pixels;
          for (Index j = 0; j < per; ++j) dst[k * per + j] = static_cast<float>(src[j]) * inv;
        }
      });
    } else {
      Index d = data_.dim();
      out.data = Tensor<float>::empty({B, d});
      for (Index k = 0; k < B; ++k) {
        auto row = data_.get(idx[std::size_t(k)]).features;
        std::copy(row.begin(), row.end(), out.data.data() + k * d);
      }
    }
    out.labels = labels(idx);
    return out;
  }

  /// Batch `b` of a text dataset without augmentation, padded.
  TokenBatch tokens(Index b) const
    requires std::same_as<D, TextDataset>
  {
    std::vector<std::vector<Token>> seqs;
    for (Index i : indices(b)) {
      auto t = data_.get(i).tokens;
      seqs.emplace_back(t.begin(), t.end());
    }
    return pad_sequences(seqs);
  }

 private:
  D data_;
  LoaderOptions options_;
  Sampler sampler_;
  std::uint64_t epoch_ = 0;
  std::vector<Index> order_;
  int shard_ = 0, shards_ = 1;
};

}  // namespace simile
