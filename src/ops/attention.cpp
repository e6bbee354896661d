// The float and double instantiations of simile/ops/attention.hpp.
#include "simile/ops/attention.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_ATTENTION)
}  // namespace simile
