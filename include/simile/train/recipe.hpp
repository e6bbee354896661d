#pragma once
/// \file
/// `Recipe<T>`: what a self-supervised method is to the trainer. A recipe owns its networks (the
/// trained `model()`, whose `encoder()` gives the representation h, and any target network or queue),
/// turns a batch of views into a scalar loss, and updates its extra state after each optimizer step.
/// Recipes are compositions, not subclasses of each other: SimCLR is an encoder, a projection head and
/// NT-Xent; MoCo adds an EMA key network and a queue; BYOL a predictor and an EMA target. A user's own
/// method implements this interface (see examples/custom_recipe.cpp).
///
/// The recipes build their model as an `nn::Sequential` of named parts, so checkpoint keys read
/// `encoder.conv1.weight`, `projector.0.weight`.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "simile/autograd/var.hpp"
#include "simile/core/communicator.hpp"
#include "simile/data/view_source.hpp"
#include "simile/io/safetensors.hpp"
#include "simile/nn/module.hpp"

namespace simile {

/// A training method: which networks train, the loss of a batch of views, and what happens after each
/// step (EMA targets, queues). The `Trainer` runs any recipe; SimCLR, MoCo, BYOL and the others are in
/// `train/recipes/`.
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

  /// The loss of one batch. `views.data` holds the V views of the B samples stacked, [V * B, ...]
  /// (rows v * B .. (v + 1) * B - 1 are view v; images [V * B, C, H, W], vectors [V * B, D], token ids
  /// [V * B, L]), so a network takes them as one batch; `views.view(v)` is view v without a copy.
  /// `labels` holds the B labels when the data has them (else empty). Called in training mode with
  /// gradients recorded.
  virtual Var<T> loss(const Views<T>& views, std::span<const std::int64_t> labels) = 0;

  /// After the optimizer's step `step` (0-based) of `total_steps`: EMA targets, momentum schedules.
  virtual void after_step(std::int64_t step, std::int64_t total_steps) {
    (void)step;
    (void)total_steps;
  }

  /// Data-parallel training over `comm` (more than one rank): the trainer calls this once, before the
  /// first step, and from then on `loss` receives this rank's shard of each global batch and must
  /// return the loss of the global batch (the same value on every rank) whose backward gives this
  /// rank's share of the gradient (`ops/distributed.hpp`: gathered views, `rank_mean`; NT-Xent's
  /// global negatives). With `sync_batch_norm`, the networks' batch norms compute their statistics over
  /// the global batch (`nn::set_batch_norm_sync`), so N ranks learn what one process learns with the
  /// global batch. The default refuses: a recipe that does not override this has no data-parallel form.
  virtual void distribute(const std::shared_ptr<Communicator>& comm, bool sync_batch_norm) {
    (void)sync_batch_norm;
    check(!is_distributed(comm.get()), "Recipe '", name(),
          "' has no data-parallel form (it must override Recipe::distribute; see train/recipes/simclr.hpp)");
  }
  /// Extra training state (target networks, queues) into `dict` under `prefix`; and back.
  virtual void save_state(TensorDict& dict, const std::string& prefix) const {
    (void)dict;
    (void)prefix;
  }
  /// Restores what `save_state` wrote under `prefix`. Throws a `simile::Error` naming the entry when one is
  /// missing or of another type (IoError), of another shape (ShapeError) or holds a bad value (NumericError).
  virtual void load_state(const TensorDict& dict, const std::string& prefix) {
    (void)dict;
    (void)prefix;
  }
};

}  // namespace simile
