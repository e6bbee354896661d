// The float and double instantiations of simile/nn/flatten.hpp.
#include "simile/nn/flatten.hpp"

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_FLATTEN)
}  // namespace simile::nn
