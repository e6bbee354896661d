// The float and double instantiations of simile/nn/conv2d.hpp.
#include "simile/nn/conv2d.hpp"

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_CONV2D)
}  // namespace simile::nn
