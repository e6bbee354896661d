// The float and double instantiations of simile/ops/shape.hpp.
#include "simile/ops/shape.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_SHAPE)
}  // namespace simile
