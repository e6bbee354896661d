// The float and double instantiations of simile/ops/conv.hpp.
#include "simile/ops/conv.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_CONV)
}  // namespace simile
