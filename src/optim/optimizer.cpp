// The float and double instantiations of simile/optim/optimizer.hpp.
#include "simile/optim/optimizer.hpp"

namespace simile::optim {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPTIM_OPTIMIZER)
}  // namespace simile::optim
