// The float and double instantiations of simile/losses/nt_xent.hpp.
#include "simile/losses/nt_xent.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_LOSSES_NT_XENT)
}  // namespace simile
