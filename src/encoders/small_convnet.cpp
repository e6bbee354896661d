// The float and double instantiations of simile/encoders/small_convnet.hpp.
#include "simile/encoders/small_convnet.hpp"

namespace simile::encoders {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_SMALL_CONVNET)
}  // namespace simile::encoders
