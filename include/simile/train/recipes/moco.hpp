#pragma once
/// \file
/// MoCo v2 (He et al. 2020; Chen et al. 2020): a query network (encoder + projection head) trained by
/// InfoNCE against keys from a key network, the EMA of the query network (momentum m, 0.99 by default),
/// with a `MomentumQueue` of past keys as the negatives (temperature 0.2).
///
/// One step: queries q = f_q(v) for both views (one batch of 2N); keys k = f_k(v) without a graph; the
/// loss is symmetrized, (InfoNCE(q1, k2, queue) + InfoNCE(q2, k1, queue)) / 2 (MoCo v2 used one
/// direction; with `symmetric = false` this recipe does too). After the optimizer's step the key
/// network moves toward the query network and the step's keys are enqueued, so a sample's key is never
/// among its own negatives. The queue starts filled with random unit vectors, as MoCo's code does.
///
/// Batch-norm leakage: with statistics over the whole batch, queries and their positive keys could
/// "communicate" through the statistics, and MoCo learns to cheat. MoCo's answer is shuffled BN across
/// GPUs; the single-device equivalent here: the key network sees the 2N views in a seeded random order,
/// split into `shuffle_groups` groups that each compute their own statistics, then puts the keys back
/// in order. A query and its positive key never share batch statistics computed the same way.
///
/// Data-parallel (`distribute`): the paper's shuffled BN across devices. The views of all ranks are
/// gathered and shuffled alike everywhere, each rank computes the keys of its share of the groups,
/// and the keys are gathered back; every rank enqueues the global batch's keys, so the queues stay
/// identical. The query network uses synchronized batch norm (the single-process query network sees
/// the whole batch), and the loss is the mean over the global batch.

#include <memory>
#include <numeric>

#include "simile/core/instantiate.hpp"
#include "simile/core/rng.hpp"
#include "simile/losses/info_nce.hpp"
#include "simile/ops/distributed.hpp"
#include "simile/ops/binary.hpp"
#include "simile/sampling/momentum_queue.hpp"
#include "simile/train/checkpoint.hpp"
#include "simile/train/ema.hpp"
#include "simile/train/recipes/detail.hpp"

namespace simile {

/// Options of `Moco`.
struct MocoOptions {
  double momentum = 0.99;    ///< key network EMA momentum m
  Index queue_size = 4096;   ///< keys in the queue (MoCo: 4,096 to 65,536)
  double temperature = 0.2;  ///< InfoNCE temperature (MoCo v2)
  int shuffle_groups = 2;    ///< batch-norm groups of the key forward pass (1: no shuffling)
  bool symmetric = true;     ///< both directions of the loss
  std::uint64_t seed = 0;    ///< seeds the queue's initial keys and the key shuffling
};

/// MoCo v2 (see the file comment): the model is the query network (children "encoder", "projector");
/// the key network and the queue are the recipe's state (`save_state`).
template <Real T>
class Moco : public Recipe<T> {
 public:
  /// `dim` is the projector's output size (the keys' size).
  Moco(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector, Index dim,
       MocoOptions options = {})
      : model_(detail::named_parts<T>("Moco", {{"encoder", std::move(encoder)}, {"projector", std::move(projector)}})),
        queue_(options.queue_size, dim),
        options_(options) {
    check(options.momentum >= 0 && options.momentum <= 1, "Moco: momentum ", options.momentum, " must lie in [0, 1]");
    check(options.temperature > 0, "Moco: temperature ", options.temperature, " must be positive");
    check(options.shuffle_groups >= 1, "Moco: shuffle_groups ", options.shuffle_groups, " must be at least 1");
    key_ = model_->clone();
    key_->requires_grad(false);
    Tensor<T> init = Tensor<T>::empty({options.queue_size, dim});
    Rng rng = Rng::stream(options.seed, 0);
    for (Index i = 0; i < init.rows(); ++i) {
      auto row = init.matrix().row(i);
      for (Index j = 0; j < dim; ++j) row(j) = static_cast<T>(rng.normal());
      row /= row.norm();
    }
    queue_.enqueue(init);
  }

  std::string name() const override { return "moco"; }
  nn::Module<T>& model() override { return *model_; }
  nn::Module<T>& encoder() override { return (*model_)[0]; }
  /// The key network: the EMA of the query network, frozen.
  nn::Module<T>& key_network() { return *key_; }
  /// The queue of past keys, the negatives.
  const MomentumQueue<T>& queue() const { return queue_; }

  Var<T> loss(const Views<T>& views, std::span<const std::int64_t>) override {
    detail::check_views(views, 2, "Moco::loss");
    auto [q1, q2] = detail::halves(model_->forward(Var<T>(views.data)));
    // The global batch's keys (one process: the batch's), then this rank's rows of them.
    Tensor<T> k = keys(views.data);
    Tensor<T> mine = dp_.on() ? local_views(k, 2, dp_.comm->rank(), dp_.comm->size()) : k;
    const Index n = views.batch();
    Var<T> k1(mine.slice_rows(0, n)), k2(mine.slice_rows(n, 2 * n));
    InfoNceOptions o{.temperature = options_.temperature};
    Var<T> loss = info_nce(q1, k2, queue_.keys(), o);
    if (options_.symmetric) loss = T(0.5) * (loss + info_nce(q2, k1, queue_.keys(), o));
    // Every rank enqueues the global batch's keys: the queues stay identical.
    const Index global = k.dim(0) / 2;
    pending_ = options_.symmetric ? k : k.slice_rows(global, 2 * global);
    return dp_.on() ? rank_mean(*dp_, loss) : loss;
  }

  /// Data-parallel: the query network's batch norms synchronized (one process normalizes the queries by
  /// the whole batch); the key network keeps shuffled batch norm: its groups are split over the ranks.
  void distribute(const std::shared_ptr<Communicator>& comm, bool sync_batch_norm) override {
    detail::distribute<T>(dp_, comm, sync_batch_norm, {model_.get()});
  }

  void after_step(std::int64_t, std::int64_t) override {
    ema_update(*key_, *model_, options_.momentum);
    if (pending_.defined()) queue_.enqueue(pending_);
    pending_ = Tensor<T>();
    ++steps_;
  }

  void save_state(TensorDict& d, const std::string& prefix) const override {
    save_module(d, *key_, prefix + "key.");
    auto s = queue_.state();
    d.set(prefix + "queue.buffer", s.buffer);
    d.set(prefix + "queue.head", Tensor<std::int64_t>::scalar(s.head));
    d.set(prefix + "queue.size", Tensor<std::int64_t>::scalar(s.size));
    d.set(prefix + "steps", Tensor<std::int64_t>::scalar(steps_));
  }
  void load_state(const TensorDict& d, const std::string& prefix) override {
    MomentumQueueState<T> s{d.get<T>(prefix + "queue.buffer"), d.get<std::int64_t>(prefix + "queue.head").item(),
                            d.get<std::int64_t>(prefix + "queue.size").item()};
    std::int64_t steps = d.get<std::int64_t>(prefix + "steps").item();
    load_module(d, *key_, prefix + "key.");
    queue_.load_state(s);
    steps_ = steps;
  }

 private:
  /// Keys of the global batch's stacked views through the key network in shuffled batch-norm groups, in
  /// input order. Data-parallel (MoCo's shuffled BN across GPUs): the views of all ranks are gathered,
  /// shuffled alike on every rank, and rank r computes the keys of groups [r G / N, (r + 1) G / N) (G the
  /// groups, rounded up to a multiple of the N ranks), which are gathered back: the same keys as one
  /// process with G groups.
  Tensor<T> keys(const Tensor<T>& local) {
    NoGradGuard no_grad;
    const int ranks = dp_.on() ? dp_.comm->size() : 1, rank = dp_.on() ? dp_.comm->rank() : 0;
    Tensor<T> x = dp_.on() ? all_gather_views(*dp_, local, 2) : local;
    const Index rows = x.dim(0);
    std::vector<Index> perm(static_cast<std::size_t>(rows));
    std::iota(perm.begin(), perm.end(), Index{0});
    Rng rng = Rng::stream(options_.seed, 1, static_cast<std::uint64_t>(steps_));
    for (Index i = rows - 1; i > 0; --i)
      std::swap(perm[static_cast<std::size_t>(i)], perm[rng.below(static_cast<std::uint64_t>(i + 1))]);
    Var<T> shuffled = gather_rows(Var<T>(x), perm);
    Index groups = std::max<Index>(std::min<Index>(options_.shuffle_groups, rows / 2), 1);
    groups = (groups + ranks - 1) / ranks * ranks;
    std::vector<Var<T>> parts;
    for (Index g = groups * rank / ranks; g < groups * (rank + 1) / ranks; ++g) {
      Index lo = rows * g / groups, hi = rows * (g + 1) / groups;
      parts.push_back(key_->forward(slice_rows(shuffled, lo, hi)));
    }
    Tensor<T> ks = concat(parts, 0).value();
    if (ranks > 1) {
      // Rank r's keys are rows [rows r / N, rows (r + 1) / N) of the shuffled order (N divides rows).
      Tensor<T> all = Tensor<T>::empty({rows, ks.dim(1)});
      all_gather(*dp_, std::span<const T>(ks.span()), all.span());
      ks = all;
    }
    Tensor<T> out = Tensor<T>::empty(ks.shape());
    for (Index i = 0; i < rows; ++i)
      ks.slice_rows(i, i + 1).copy_to(out.slice_rows(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(i)] + 1));
    return out;
  }

  std::shared_ptr<nn::Sequential<T>> model_, key_;
  MomentumQueue<T> queue_;
  MocoOptions options_;
  detail::DataParallel dp_;
  Tensor<T> pending_;
  std::int64_t steps_ = 0;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_RECIPES_MOCO(P, T) \
  P template class Moco<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_MOCO)

}  // namespace simile
