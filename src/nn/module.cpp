// The float and double instantiations of simile/nn/module.hpp.
#include "simile/nn/module.hpp"

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_MODULE)
}  // namespace simile::nn
