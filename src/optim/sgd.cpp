// The float and double instantiations of simile/optim/sgd.hpp.
#include "simile/optim/sgd.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPTIM_SGD_BASES)
}  // namespace simile

namespace simile::optim {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPTIM_SGD)
}  // namespace simile::optim
