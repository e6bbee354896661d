// The float and double instantiations of simile/nn/transformer.hpp.
#include "simile/nn/transformer.hpp"

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_TRANSFORMER)
}  // namespace simile::nn
