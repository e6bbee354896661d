// The float and double instantiations of simile/train/trainer.hpp.
#include "simile/train/trainer.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_TRAIN_TRAINER)
}  // namespace simile
