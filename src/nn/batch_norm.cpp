// The float and double instantiations of simile/nn/batch_norm.hpp.
#include "simile/nn/batch_norm.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_BATCH_NORM_BASES)
}  // namespace simile

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_BATCH_NORM)
}  // namespace simile::nn
