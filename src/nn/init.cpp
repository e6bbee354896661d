// The float and double instantiations of simile/nn/init.hpp.
#include "simile/nn/init.hpp"

namespace simile::nn::init {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_INIT)
}  // namespace simile::nn::init
