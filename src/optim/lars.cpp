// The float and double instantiations of simile/optim/lars.hpp.
#include "simile/optim/lars.hpp"

namespace simile::optim {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPTIM_LARS)
}  // namespace simile::optim
