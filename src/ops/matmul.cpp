// The float and double instantiations of simile/ops/matmul.hpp.
#include "simile/ops/matmul.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_MATMUL)
}  // namespace simile
