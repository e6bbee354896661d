// The float and double instantiations of simile/ops/layer_norm.hpp.
#include "simile/ops/layer_norm.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_LAYER_NORM)
}  // namespace simile
