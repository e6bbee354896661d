#pragma once
/// \file
/// Barlow Twins (Zbontar et al. 2021) and VICReg (Bardes, Ponce, LeCun 2022) as recipes: an encoder and
/// a projector, the two views as one batch of 2N, and a loss on the two halves of the embeddings that
/// needs no negatives (Barlow Twins: the cross-correlation of the standardized embeddings toward the
/// identity; VICReg: variance, invariance and covariance terms).

#include <memory>

#include "simile/core/instantiate.hpp"
#include "simile/losses/barlow_twins.hpp"
#include "simile/losses/vicreg.hpp"
#include "simile/train/recipes/detail.hpp"

namespace simile {

/// Barlow Twins: the cross-correlation of the two views' standardized embeddings toward the identity.
template <Real T>
class BarlowTwins : public detail::HalvesRecipe<T, BarlowTwinsOptions> {
 public:
  /// The network from its two parts (children "encoder" and "projector", shared, not copied).
  BarlowTwins(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
              BarlowTwinsOptions options = {})
      : detail::HalvesRecipe<T, BarlowTwinsOptions>("barlow", &barlow_twins<T>, std::move(encoder),
                                                    std::move(projector), options) {}
};

/// VICReg: variance, invariance and covariance terms on the two views' embeddings.
template <Real T>
class VicRegRecipe : public detail::HalvesRecipe<T, VicRegOptions> {
 public:
  /// The network from its two parts (children "encoder" and "projector", shared, not copied).
  VicRegRecipe(std::shared_ptr<nn::Module<T>> encoder, std::shared_ptr<nn::Module<T>> projector,
               VicRegOptions options = {})
      : detail::HalvesRecipe<T, VicRegOptions>("vicreg", &vicreg<T>, std::move(encoder), std::move(projector),
                                               options) {}
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_RECIPES_BARLOW(P, T) \
  P template class BarlowTwins<T>; \
  P template class VicRegRecipe<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_BARLOW)

}  // namespace simile
