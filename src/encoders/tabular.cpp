// The float and double instantiations of simile/encoders/tabular.hpp.
#include "simile/encoders/tabular.hpp"

namespace simile::encoders {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_TABULAR)
}  // namespace simile::encoders
