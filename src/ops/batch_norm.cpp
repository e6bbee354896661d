// The float and double instantiations of simile/ops/batch_norm.hpp.
#include "simile/ops/batch_norm.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_BATCH_NORM)
}  // namespace simile
