// The float and double instantiations of simile/sampling/miners.hpp.
#include "simile/sampling/miners.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_SAMPLING_MINERS)
}  // namespace simile
