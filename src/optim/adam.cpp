// The float and double instantiations of simile/optim/adam.hpp.
#include "simile/optim/adam.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPTIM_ADAM_BASES)
}  // namespace simile

namespace simile::optim {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPTIM_ADAM)
}  // namespace simile::optim
