// The float and double instantiations of simile/nn/embedding.hpp.
#include "simile/nn/embedding.hpp"

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_EMBEDDING)
}  // namespace simile::nn
