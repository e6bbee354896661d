// The float and double instantiations of simile/encoders/mlp.hpp.
#include "simile/encoders/mlp.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_MLP_BASES)
}  // namespace simile

namespace simile::encoders {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_MLP)
}  // namespace simile::encoders
