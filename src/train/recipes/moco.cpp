// The float and double instantiations of simile/train/recipes/moco.hpp.
#include "simile/train/recipes/moco.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_MOCO)
}  // namespace simile
