// The float and double instantiations of simile/train/recipes/supcon.hpp.
#include "simile/train/recipes/supcon.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_SUPCON)
}  // namespace simile
