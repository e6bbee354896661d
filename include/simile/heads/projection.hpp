#pragma once
/// \file
/// `ProjectionHead`: the MLP g that maps the representation h to the space z where the contrastive loss is
/// computed (SimCLR, Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
/// Representations", section 2.1; MoCo v2, Chen et al. 2020, "Improved Baselines with Momentum Contrastive
/// Learning"; BYOL's projector, Grill et al. 2020). Downstream tasks use h, not z.

#include <string>

#include "simile/core/instantiate.hpp"
#include "simile/nn/layer_stack.hpp"

namespace simile::heads {

/// Configuration of a `ProjectionHead`. The defaults are SimCLR's on ResNet-50 features scaled to a
/// ResNet-18: 512 -> 2048 -> 128.
struct ProjectionHeadOptions {
  Index in_features = 512;      ///< size of h, the encoder's output_dim() (> 0)
  Index hidden_features = 2048;  ///< width of the hidden layer (> 0)
  Index out_features = 128;     ///< size of z (> 0)
  bool batch_norm = true;       ///< BatchNorm1d after the hidden Linear (SimCLR v2, BYOL); MoCo v2 used none
};

/// z = W_2 relu(BN(W_1 h + b_1)) + b_2  (without BN when `batch_norm` is off).
/// Input h [N, in_features] (N >= 2 in training mode with batch_norm), output z [N, out_features].
/// Layers and names are those of `nn.Sequential(nn.Linear(in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
/// nn.Linear(hidden, out))`: `0.weight` [hidden, in], `0.bias` [hidden], `1.weight`, `1.bias` [hidden] and
/// buffers `1.running_mean`, `1.running_var` [hidden], `1.num_batches_tracked` [], the ReLU at index 2,
/// `3.weight` [out, hidden], `3.bias` [out]. Without batch_norm: `0.*`, ReLU 1, `2.*`, as
/// `nn.Sequential(Linear, ReLU, Linear)`. Initialization: PyTorch's Linear and BatchNorm1d defaults.
template <Real T>
class ProjectionHead : public nn::LayerStack<ProjectionHead<T>, T> {
 public:
  /// The layers of `o`, weights drawn from `rng`. Throws ValueError for a size <= 0.
  ProjectionHead(const ProjectionHeadOptions& o, Rng& rng) : options_(o) {
    this->build("ProjectionHead",
                {.sizes = {o.in_features, o.hidden_features, o.out_features},
                 .activation = nn::MlpActivation::relu,
                 .batch_norm = o.batch_norm},
                rng);
  }
  /// Shares the layers (a handle, see `nn::Module`); `clone()` is the deep copy.
  ProjectionHead(const ProjectionHead&) = default;

  std::string type_name() const override { return "ProjectionHead"; }
  std::string extra_repr() const override { return this->stack_repr(); }
  /// The options it was built with.
  const ProjectionHeadOptions& options() const { return options_; }

 private:
  ProjectionHeadOptions options_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_HEADS_PROJECTION(P, T) \
  P template class ProjectionHead<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_HEADS_PROJECTION)

}  // namespace simile::heads

namespace simile {
/// Base classes of the specializations above, compiled into the library too (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_HEADS_PROJECTION_BASES(P, T) \
  P template class nn::LayerStack<heads::ProjectionHead<T>, T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_HEADS_PROJECTION_BASES)
}  // namespace simile
