// The float and double instantiations of simile/heads/projection.hpp.
#include "simile/heads/projection.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_HEADS_PROJECTION_BASES)
}  // namespace simile

namespace simile::heads {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_HEADS_PROJECTION)
}  // namespace simile::heads
