// The float and double instantiations of simile/train/recipes/simclr.hpp.
#include "simile/train/recipes/simclr.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_TRAIN_RECIPES_SIMCLR)
}  // namespace simile
