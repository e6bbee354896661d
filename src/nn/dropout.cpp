// The float and double instantiations of simile/nn/dropout.hpp.
#include "simile/nn/dropout.hpp"

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_DROPOUT)
}  // namespace simile::nn
