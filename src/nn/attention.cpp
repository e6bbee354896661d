// The float and double instantiations of simile/nn/attention.hpp.
#include "simile/nn/attention.hpp"

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_ATTENTION)
}  // namespace simile::nn
