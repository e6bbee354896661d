// The float and double instantiations of simile/train/recipes/dual_encoder.hpp.
#include "simile/train/recipes/dual_encoder.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_DUAL_ENCODER)
}  // namespace simile
