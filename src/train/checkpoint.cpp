// The float and double instantiations of simile/train/checkpoint.hpp.
#include "simile/train/checkpoint.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_TRAIN_CHECKPOINT)
}  // namespace simile
