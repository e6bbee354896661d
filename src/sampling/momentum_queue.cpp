// The float and double instantiations of simile/sampling/momentum_queue.hpp.
#include "simile/sampling/momentum_queue.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_SAMPLING_MOMENTUM_QUEUE)
}  // namespace simile
