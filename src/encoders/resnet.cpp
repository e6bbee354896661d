// The float and double instantiations of simile/encoders/resnet.hpp.
#include "simile/encoders/resnet.hpp"

namespace simile::encoders {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_RESNET)
}  // namespace simile::encoders
