// The float and double instantiations of simile/ops/batch_norm_avg_pool.hpp.
#include "simile/ops/batch_norm_avg_pool.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_BATCH_NORM_AVG_POOL)
}  // namespace simile
