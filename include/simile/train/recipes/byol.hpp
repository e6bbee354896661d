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

#include <memory>

#include "simile/losses/negative_cosine.hpp"
#include "simile/train/ema.hpp"
#include "simile/train/checkpoint.hpp"
#include "simile/train/recipes/simclr.hpp"

namespace simile {

namespace detail {
/// Rows [0, N) and [N, 2N) of a [2N, D] Var.
template <Real T>
std::pair<Var<T>, Var<T>> halves(const Var<T>& x) {
  Index n = x.dim(0) / 2;
  return {slice_rows(x, 0, n), slice_rows(x, n, 2 * n)};
}
}  // namespace detail

struct ByolOptions {
  double tau_base = 0.99;  ///< target momentum at step 0 (the paper: 0.996 for 1000-epoch runs)
};

template <Real T>
class Byol : public Recipe<T> {
 public:
  Byol(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
       std::shared_ptr<nn::Module<T>> predictor, ByolOptions options = {})
      : options_(options) {
    check(encoder && projector && predictor, "Byol: encoder, projector and predictor must be given");
    check(options.tau_base >= 0 && options.tau_base <= 1, "Byol: tau_base ", options.tau_base, " must lie in [0, 1]");
    online_ = std::make_shared<nn::Chain<T>>();
    online_->add("encoder", encoder).add("projector", projector).add("predictor", predictor);
    body_ = std::make_shared<nn::Chain<T>>();  // the online encoder and projector (shared, not copied)
    body_->add("encoder", encoder).add("projector", projector);
    target_ = body_->clone();
    target_->requires_grad(false);
  }

  std::string name() const override { return "byol"; }
  nn::Module<T>& model() override { return *online_; }
  nn::Module<T>& encoder() override { return online_->part(0); }
  /// The EMA target (encoder and projector).
  nn::Module<T>& target() { return *target_; }

  Var<T> loss(const std::vector<Tensor<T>>& views, std::span<const std::int64_t>) override {
    check(views.size() == 2, "Byol::loss: expected 2 views, got ", views.size());
    Var<T> x(detail::stack_views(views, "Byol::loss"));
    auto [p1, p2] = detail::halves(online_->forward(x));
    Var<T> z;
    {
      NoGradGuard no_grad;
      z = target_->forward(x);
    }
    auto [z1, z2] = detail::halves(z);
    // BYOL sums the two directions of 2 - 2 cos; the helper averages them.
    return T(2) * symmetric_negative_cosine(p1, p2, z1, z2, NegativeCosineOptions{.byol_form = true});
  }

  void after_step(std::int64_t step, std::int64_t total) override {
    ema_update(*target_, *body_, byol_momentum(options_.tau_base, step + 1, total));
  }
  void save_state(TensorDict& d, const std::string& prefix) const override { save_module(d, *target_, prefix + "target."); }
  void load_state(const TensorDict& d, const std::string& prefix) override { load_module(d, *target_, prefix + "target."); }

 private:
  ByolOptions options_;
  std::shared_ptr<nn::Chain<T>> online_, body_, target_;
};

template <Real T>
class SimSiam : public Recipe<T> {
 public:
  SimSiam(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
          std::shared_ptr<nn::Module<T>> predictor)
      : model_(std::make_shared<nn::Chain<T>>()) {
    check(encoder && projector && predictor, "SimSiam: encoder, projector and predictor must be given");
    model_->add("encoder", encoder).add("projector", projector).add("predictor", predictor);
  }
  std::string name() const override { return "simsiam"; }
  nn::Module<T>& model() override { return *model_; }
  nn::Module<T>& encoder() override { return model_->part(0); }

  Var<T> loss(const std::vector<Tensor<T>>& views, std::span<const std::int64_t>) override {
    check(views.size() == 2, "SimSiam::loss: expected 2 views, got ", views.size());
    Var<T> z = model_->part(1).forward(model_->part(0).forward(Var<T>(detail::stack_views(views, "SimSiam::loss"))));
    Var<T> p = model_->part(2).forward(z);
    auto [p1, p2] = detail::halves(p);
    auto [z1, z2] = detail::halves(z);  // detached inside the loss: the stop-gradient
    return symmetric_negative_cosine(p1, p2, z1, z2);
  }

 private:
  std::shared_ptr<nn::Chain<T>> model_;
};

}  // namespace simile
