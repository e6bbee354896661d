// The float and double instantiations of simile/ops/normalize.hpp.
#include "simile/ops/normalize.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_NORMALIZE)
}  // namespace simile
