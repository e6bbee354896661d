#pragma once
/// \file
/// `PredictionHead`: BYOL's predictor q (Grill et al. 2020, "Bootstrap Your Own Latent", section 3.3), the
/// MLP on top of the online network's projection that predicts the target network's projection. Only the
/// online branch has one; its asymmetry is what keeps BYOL from collapsing without negatives.

#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/layer_stack.hpp"

namespace simile::heads {

/// Configuration of a `PredictionHead`. The defaults are BYOL's: 256 -> 4096 -> 256.
struct PredictionHeadOptions {
  Index in_features = 256;       ///< size of the projection z (> 0)
  Index hidden_features = 4096;  ///< width of the hidden layer (> 0)
  Index out_features = 256;      ///< size of the prediction, equal to the target's projection size (> 0)
};

/// q(z) = W_2 relu(BN(W_1 z + b_1)) + b_2, the same layers as BYOL's projector.
/// Input z [N, in_features] (N >= 2 in training mode), output [N, out_features].
/// Names as `nn.Sequential(nn.Linear(in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, out))`:
/// `0.weight` [hidden, in], `0.bias` [hidden], `1.weight`, `1.bias` [hidden], buffers `1.running_mean`,
/// `1.running_var` [hidden], `1.num_batches_tracked` [], ReLU at index 2, `3.weight` [out, hidden],
/// `3.bias` [out]. Initialization: PyTorch's Linear and BatchNorm1d defaults.
template <Real T>
class PredictionHead : public nn::LayerStack<PredictionHead<T>, T> {
 public:
  /// Linear, BN, ReLU, Linear with the sizes of `o`, weights drawn from `rng`. Throws ValueError for a
  /// size <= 0.
  PredictionHead(const PredictionHeadOptions& o, Rng& rng) : options_(o) {
    this->build("PredictionHead",
                {.sizes = {o.in_features, o.hidden_features, o.out_features},
                 .activation = nn::MlpActivation::relu,
                 .batch_norm = true},
                rng);
  }
  /// Shares the layers (a handle, see `nn::Module`); `clone()` is the deep copy.
  PredictionHead(const PredictionHead&) = default;

  std::string type_name() const override { return "PredictionHead"; }
  std::string extra_repr() const override { return this->stack_repr(); }
  /// The options it was built with.
  const PredictionHeadOptions& options() const { return options_; }

 private:
  PredictionHeadOptions options_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_HEADS_PREDICTION(P, T) \
  P template class PredictionHead<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_HEADS_PREDICTION)

}  // namespace simile::heads

namespace simile {
/// Base classes of the specializations above, compiled into the library too (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_HEADS_PREDICTION_BASES(P, T) \
  P template class nn::LayerStack<heads::PredictionHead<T>, T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_HEADS_PREDICTION_BASES)
}  // namespace simile
