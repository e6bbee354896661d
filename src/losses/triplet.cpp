// The float and double instantiations of simile/losses/triplet.hpp.
#include "simile/losses/triplet.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_LOSSES_TRIPLET)
}  // namespace simile
