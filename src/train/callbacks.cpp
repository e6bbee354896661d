// The float and double instantiations of simile/train/callbacks.hpp.
#include "simile/train/callbacks.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_TRAIN_CALLBACKS)
}  // namespace simile
