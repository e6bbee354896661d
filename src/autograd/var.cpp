// The float and double instantiations of simile/autograd/var.hpp.
#include "simile/autograd/var.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_AUTOGRAD_VAR)
}  // namespace simile
