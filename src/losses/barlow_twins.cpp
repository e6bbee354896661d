// The float and double instantiations of simile/losses/barlow_twins.hpp.
#include "simile/losses/barlow_twins.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_LOSSES_BARLOW_TWINS)
}  // namespace simile
