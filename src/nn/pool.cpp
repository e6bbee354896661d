// The float and double instantiations of simile/nn/pool.hpp.
#include "simile/nn/pool.hpp"

namespace simile::nn {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_POOL)
}  // namespace simile::nn
