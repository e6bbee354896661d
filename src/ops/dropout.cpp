// The float and double instantiations of simile/ops/dropout.hpp.
#include "simile/ops/dropout.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_DROPOUT)
}  // namespace simile
