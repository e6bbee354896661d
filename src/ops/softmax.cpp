// The float and double instantiations of simile/ops/softmax.hpp.
#include "simile/ops/softmax.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_SOFTMAX)
}  // namespace simile
