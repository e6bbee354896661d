#pragma once
/// \file
/// BYOL (Grill et al. 2020, "Bootstrap Your Own Latent") and SimSiam (Chen & He 2021): no negatives.
/// - BYOL: an online network (encoder f, projector g, predictor q) predicts the projection that a
///   target network (f', g'), an EMA of (f, g), gives of the other view; the loss is the symmetrized
///   2 - 2 cos(q(g(f(v1))), sg(g'(f'(v2)))) and back; the target's momentum rises from tau_base to 1
///   along a cosine (`byol_momentum`).
/// - SimSiam: the same without a target network: the stop-gradient on the projection alone prevents
///   collapse; the loss is the symmetrized -cos.
/// Both views go through a network as one batch of 2N (batch-norm statistics over the 2N views); the
/// target runs in training mode (batch statistics) without recording a graph, as the reference code.
/// Data-parallel (`distribute`): the loss is the mean over the global batch (`rank_mean`), and with
/// synchronized batch norm both networks normalize by the global batch's statistics.

#include <memory>

#include "simile/core/instantiate.hpp"
#include "simile/losses/negative_cosine.hpp"
#include "simile/ops/distributed.hpp"
#include "simile/train/checkpoint.hpp"
#include "simile/train/ema.hpp"
#include "simile/train/recipes/detail.hpp"

namespace simile {

/// Options of `Byol`.
struct ByolOptions {
  double tau_base = 0.99;  ///< target momentum at step 0 (the paper: 0.996 for 1000-epoch runs)
};

/// BYOL (see the file comment): the model is the online network (children "encoder", "projector",
/// "predictor"); the target is a clone of encoder + projector, frozen, updated by EMA after each step.
template <Real T>
class Byol : public Recipe<T> {
 public:
  /// The online network from its three parts (shared, not copied). Throws ValueError unless tau_base is
  /// in [0, 1].
  Byol(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
       std::shared_ptr<nn::Module<T>> predictor, ByolOptions options = {})
      : options_(options) {
    check(options.tau_base >= 0 && options.tau_base <= 1, "Byol: tau_base ", options.tau_base, " must lie in [0, 1]");
    online_ = detail::named_parts<T>("Byol", {{"encoder", encoder}, {"projector", projector}, {"predictor", predictor}});
    // The online encoder and projector (shared, not copied).
    body_ = detail::named_parts<T>("Byol", {{"encoder", encoder}, {"projector", projector}});
    target_ = body_->clone();
    target_->requires_grad(false);
  }

  std::string name() const override { return "byol"; }
  nn::Module<T>& model() override { return *online_; }
  nn::Module<T>& encoder() override { return (*online_)[0]; }
  /// The EMA target (encoder and projector).
  nn::Module<T>& target() { return *target_; }

  Var<T> loss(const Views<T>& views, std::span<const std::int64_t>) override {
    detail::check_views(views, 2, "Byol::loss");
    Var<T> x(views.data);
    auto [p1, p2] = detail::halves(online_->forward(x));
    Var<T> z;
    {
      NoGradGuard no_grad;
      z = target_->forward(x);
    }
    auto [z1, z2] = detail::halves(z);
    // BYOL sums the two directions of 2 - 2 cos; the helper averages them. Data-parallel: the mean
    // over the global batch (equal shards).
    Var<T> loss = T(2) * symmetric_negative_cosine(p1, p2, z1, z2, NegativeCosineOptions{.byol_form = true});
    return dp_.on() ? rank_mean(*dp_, loss) : loss;
  }
  /// Synchronized batch norm in the online and the target networks (both see the global batch).
  void distribute(const std::shared_ptr<Communicator>& comm, bool sync_batch_norm) override {
    detail::distribute<T>(dp_, comm, sync_batch_norm, {online_.get(), target_.get()});
  }

  void after_step(std::int64_t step, std::int64_t total) override {
    ema_update(*target_, *body_, byol_momentum(options_.tau_base, step + 1, total));
  }
  void save_state(TensorDict& d, const std::string& prefix) const override { save_module(d, *target_, prefix + "target."); }
  void load_state(const TensorDict& d, const std::string& prefix) override { load_module(d, *target_, prefix + "target."); }

 private:
  ByolOptions options_;
  std::shared_ptr<nn::Sequential<T>> online_, body_, target_;
  detail::DataParallel dp_;
};

/// SimSiam (see the file comment): the model has children "encoder", "projector", "predictor"; no
/// target network, no state beyond the model.
template <Real T>
class SimSiam : public Recipe<T> {
 public:
  /// The network from its three parts (shared, not copied).
  SimSiam(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
          std::shared_ptr<nn::Module<T>> predictor)
      : model_(detail::named_parts<T>("SimSiam", {{"encoder", std::move(encoder)},
                                                  {"projector", std::move(projector)},
                                                  {"predictor", std::move(predictor)}})) {}
  std::string name() const override { return "simsiam"; }
  nn::Module<T>& model() override { return *model_; }
  nn::Module<T>& encoder() override { return (*model_)[0]; }

  Var<T> loss(const Views<T>& views, std::span<const std::int64_t>) override {
    detail::check_views(views, 2, "SimSiam::loss");
    Var<T> z = (*model_)[1].forward((*model_)[0].forward(Var<T>(views.data)));
    Var<T> p = (*model_)[2].forward(z);
    auto [p1, p2] = detail::halves(p);
    auto [z1, z2] = detail::halves(z);  // detached inside the loss: the stop-gradient
    Var<T> loss = symmetric_negative_cosine(p1, p2, z1, z2);
    return dp_.on() ? rank_mean(*dp_, loss) : loss;
  }
  void distribute(const std::shared_ptr<Communicator>& comm, bool sync_batch_norm) override {
    detail::distribute<T>(dp_, comm, sync_batch_norm, {model_.get()});
  }

 private:
  std::shared_ptr<nn::Sequential<T>> model_;
  detail::DataParallel dp_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_RECIPES_BYOL(P, T) \
  P template class Byol<T>; \
  P template class SimSiam<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_BYOL)

}  // namespace simile
