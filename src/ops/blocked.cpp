// The float and double instantiations of simile/ops/blocked.hpp.
#include "simile/ops/blocked.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_BLOCKED)
}  // namespace simile
