// The float and double instantiations of simile/losses/supcon.hpp.
#include "simile/losses/supcon.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_LOSSES_SUPCON)
}  // namespace simile
