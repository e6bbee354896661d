// The float and double instantiations of simile/ops/distributed.hpp.
#include "simile/ops/distributed.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_DISTRIBUTED)
}  // namespace simile
