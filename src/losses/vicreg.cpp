// The float and double instantiations of simile/losses/vicreg.hpp.
#include "simile/losses/vicreg.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_LOSSES_VICREG)
}  // namespace simile
