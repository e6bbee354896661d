// The float and double instantiations of simile/encoders/text.hpp.
#include "simile/encoders/text.hpp"

namespace simile::encoders {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_TEXT)
}  // namespace simile::encoders
