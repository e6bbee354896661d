// The float and double instantiations of simile/ops/embedding.hpp.
#include "simile/ops/embedding.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_EMBEDDING)
}  // namespace simile
