// The float and double instantiations of simile/optim/schedule.hpp.
#include "simile/optim/schedule.hpp"

namespace simile::optim {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_OPTIM_SCHEDULE)
}  // namespace simile::optim
