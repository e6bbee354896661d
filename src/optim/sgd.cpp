// The float and double instantiations of simile/optim/sgd.hpp.
#include "simile/optim/sgd.hpp"

namespace simile::optim {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPTIM_SGD)
}  // namespace simile::optim
