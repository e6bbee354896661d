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

#include <memory>
#include <numeric>

#include "simile/core/rng.hpp"
#include "simile/losses/info_nce.hpp"
#include "simile/sampling/momentum_queue.hpp"
#include "simile/train/checkpoint.hpp"
#include "simile/train/ema.hpp"
#include "simile/train/recipes/byol.hpp"

namespace simile {

struct MocoOptions {
  double momentum = 0.99;    ///< key network EMA momentum m
  Index queue_size = 4096;   ///< keys in the queue (MoCo: 4,096 to 65,536)
  double temperature = 0.2;  ///< InfoNCE temperature (MoCo v2)
  int shuffle_groups = 2;    ///< batch-norm groups of the key forward pass (1: no shuffling)
  bool symmetric = true;     ///< both directions of the loss
  std::uint64_t seed = 0;    ///< seeds the queue's initial keys and the key shuffling
};

template <Real T>
class Moco : public Recipe<T> {
 public:
  /// `dim` is the projector's output size (the keys' size).
  Moco(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector, Index dim,
       MocoOptions options = {})
      : model_(std::make_shared<nn::Chain<T>>()), queue_(options.queue_size, dim), options_(options) {
    check(encoder && projector, "Moco: encoder and projector must be given");
    check(options.momentum >= 0 && options.momentum <= 1, "Moco: momentum ", options.momentum, " must lie in [0, 1]");
    check(options.temperature > 0, "Moco: temperature ", options.temperature, " must be positive");
    check(options.shuffle_groups >= 1, "Moco: shuffle_groups ", options.shuffle_groups, " must be at least 1");
    model_->add("encoder", std::move(encoder)).add("projector", std::move(projector));
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
  nn::Module<T>& encoder() override { return model_->part(0); }
  nn::Module<T>& key_network() { return *key_; }
  const MomentumQueue<T>& queue() const { return queue_; }

  Var<T> loss(const std::vector<Tensor<T>>& views, std::span<const std::int64_t>) override {
    check(views.size() == 2, "Moco::loss: expected 2 views, got ", views.size());
    Tensor<T> x = detail::stack_views(views, "Moco::loss");
    auto [q1, q2] = detail::halves(model_->forward(Var<T>(x)));
    Tensor<T> k = keys(x);
    const Index n = views[0].dim(0);
    Var<T> k1(k.slice_rows(0, n)), k2(k.slice_rows(n, 2 * n));
    InfoNceOptions o{.temperature = options_.temperature};
    Var<T> loss = info_nce(q1, k2, queue_.keys(), o);
    if (options_.symmetric) loss = T(0.5) * (loss + info_nce(q2, k1, queue_.keys(), o));
    pending_ = options_.symmetric ? k : k.slice_rows(n, 2 * n);
    return loss;
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
  /// Keys of the stacked views through the key network in shuffled batch-norm groups, in input order.
  Tensor<T> keys(const Tensor<T>& x) {
    NoGradGuard no_grad;
    const Index rows = x.dim(0);
    std::vector<Index> perm(static_cast<std::size_t>(rows));
    std::iota(perm.begin(), perm.end(), Index{0});
    Rng rng = Rng::stream(options_.seed, 1, static_cast<std::uint64_t>(steps_));
    for (Index i = rows - 1; i > 0; --i)
      std::swap(perm[static_cast<std::size_t>(i)], perm[rng.below(static_cast<std::uint64_t>(i + 1))]);
    Var<T> shuffled = gather_rows(Var<T>(x), perm);
    const Index groups = std::min<Index>(options_.shuffle_groups, rows / 2);
    std::vector<Var<T>> parts;
    for (Index g = 0; g < std::max<Index>(groups, 1); ++g) {
      Index lo = rows * g / std::max<Index>(groups, 1), hi = rows * (g + 1) / std::max<Index>(groups, 1);
      parts.push_back(key_->forward(slice_rows(shuffled, lo, hi)));
    }
    Tensor<T> ks = concat(parts, 0).value();
    Tensor<T> out = Tensor<T>::empty(ks.shape());
    for (Index i = 0; i < rows; ++i)
      ks.slice_rows(i, i + 1).copy_to(out.slice_rows(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(i)] + 1));
    return out;
  }

  std::shared_ptr<nn::Chain<T>> model_, key_;
  MomentumQueue<T> queue_;
  MocoOptions options_;
  Tensor<T> pending_;
  std::int64_t steps_ = 0;
};

}  // namespace simile
