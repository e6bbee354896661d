// The float and double instantiations of simile/ops/binary.hpp.
#include "simile/ops/binary.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPS_BINARY)
}  // namespace simile
