// The float and double instantiations of simile/ops/unary.hpp, and its vectorized kernels.
#include "simile/ops/unary.hpp"
#include "simile/ops/unary-inl.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_UNARY)
}  // namespace simile
