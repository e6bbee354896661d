// The float and double instantiations of simile/train/ema.hpp.
#include "simile/train/ema.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_TRAIN_EMA)
}  // namespace simile
