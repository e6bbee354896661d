// The float and double instantiations of simile/ops/masked_mean.hpp.
#include "simile/ops/masked_mean.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_MASKED_MEAN)
}  // namespace simile
