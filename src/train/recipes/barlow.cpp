// The float and double instantiations of simile/train/recipes/barlow.hpp.
#include "simile/train/recipes/barlow.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_BARLOW)
}  // namespace simile
