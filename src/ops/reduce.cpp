// The float and double instantiations of simile/ops/reduce.hpp.
#include "simile/ops/reduce.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_REDUCE)
}  // namespace simile
