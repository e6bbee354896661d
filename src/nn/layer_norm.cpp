// The float and double instantiations of simile/nn/layer_norm.hpp.
#include "simile/nn/layer_norm.hpp"

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_LAYER_NORM)
}  // namespace simile::nn
