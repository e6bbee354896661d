// The float and double instantiations of simile/ops/pool.hpp.
#include "simile/ops/pool.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_POOL)
}  // namespace simile
