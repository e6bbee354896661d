#pragma once
/// \file
/// `Recipe<T>`: what a self-supervised method is to the trainer. A recipe owns its networks (the
/// trained `model()`, whose `encoder()` gives the representation h, and any target network or queue),
/// turns a batch of views into a scalar loss, and updates its extra state after each optimizer step.
/// Recipes are compositions, not subclasses of each other: SimCLR is an encoder, a projection head and
/// NT-Xent; MoCo adds an EMA key network and a queue; BYOL a predictor and an EMA target. A user's own
/// method implements this interface (see examples/custom_recipe.cpp).
///
/// `Chain` is the container the recipes build their model from: children run one after the other and
/// are named, so checkpoint keys read `encoder.conv1.weight`, `projector.0.weight`.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "simile/autograd/var.hpp"
#include "simile/io/safetensors.hpp"
#include "simile/nn/module.hpp"

namespace simile {

namespace nn {
/// y = m_last(... m_first(x)) over named children (an `nn.Sequential` built from an OrderedDict).
template <Real T>
class Chain : public Cloneable<Chain<T>, T> {
 public:
  Chain() = default;
  Chain(std::initializer_list<std::pair<std::string, std::shared_ptr<Module<T>>>> parts) {
    for (auto& [name, m] : parts) add(name, m);
  }
  /// Appends `module` under `name`.
  Chain& add(std::string name, std::shared_ptr<Module<T>> module) {
    this->register_module(std::move(name), std::move(module));
    return *this;
  }
  Var<T> forward(const Var<T>& x) override {
    Var<T> y = x;
    for (std::size_t i = 0; i < this->num_children(); ++i) y = this->child_at(i).forward(y);
    return y;
  }
  /// Child `i` in order.
  Module<T>& part(std::size_t i) const {
    check(i < this->num_children(), "Chain: part ", i, " out of range for ", this->num_children(), " parts");
    return this->child_at(i);
  }
  std::size_t size() const { return this->num_children(); }
  std::string type_name() const override { return "Chain"; }
};
}  // namespace nn

template <Real T>
class Recipe {
 public:
  virtual ~Recipe() = default;

  /// The method's name ("simclr"), recorded in checkpoints and metrics.
  virtual std::string name() const = 0;
  /// The module the optimizer trains; its named parameters and buffers are the checkpoint's model keys.
  virtual nn::Module<T>& model() = 0;
  /// The encoder whose output h is the representation evaluated downstream.
  virtual nn::Module<T>& encoder() = 0;
  /// Views the recipe expects per sample.
  virtual int num_views() const { return 2; }
  /// True when `loss` needs the batch's labels (supervised contrastive).
  virtual bool needs_labels() const { return false; }

  /// The loss of one batch. `views[v]` is view v of the batch, [B, C, H, W]; `labels` holds the B
  /// labels when the dataset has them (else empty). Called in training mode with gradients recorded.
  virtual Var<T> loss(const std::vector<Tensor<T>>& views, std::span<const std::int64_t> labels) = 0;

  /// After the optimizer's step `step` (0-based) of `total_steps`: EMA targets, momentum schedules.
  virtual void after_step(std::int64_t step, std::int64_t total_steps) {
    (void)step;
    (void)total_steps;
  }

  /// Extra training state (target networks, queues) into `dict` under `prefix`; and back.
  virtual void save_state(TensorDict& dict, const std::string& prefix) const {
    (void)dict;
    (void)prefix;
  }
  virtual void load_state(const TensorDict& dict, const std::string& prefix) {
    (void)dict;
    (void)prefix;
  }
};

}  // namespace simile
