// The float and double instantiations of simile/nn/linear.hpp.
#include "simile/nn/linear.hpp"

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_LINEAR)
}  // namespace simile::nn
