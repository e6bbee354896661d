// The float and double instantiations of simile/train/recipes/byol.hpp.
#include "simile/train/recipes/byol.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_BYOL)
}  // namespace simile
