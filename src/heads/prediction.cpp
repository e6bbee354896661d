// The float and double instantiations of simile/heads/prediction.hpp.
#include "simile/heads/prediction.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_HEADS_PREDICTION_BASES)
}  // namespace simile

namespace simile::heads {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_HEADS_PREDICTION)
}  // namespace simile::heads
