// The float and double instantiations of simile/optim/lars.hpp.
#include "simile/optim/lars.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPTIM_LARS_BASES)
}  // namespace simile

namespace simile::optim {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPTIM_LARS)
}  // namespace simile::optim
