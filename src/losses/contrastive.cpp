// The float and double instantiations of simile/losses/contrastive.hpp.
#include "simile/losses/contrastive.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_LOSSES_CONTRASTIVE)
}  // namespace simile
