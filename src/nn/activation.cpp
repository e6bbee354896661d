// The float and double instantiations of simile/nn/activation.hpp.
#include "simile/nn/activation.hpp"

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_ACTIVATION)
}  // namespace simile::nn
