// The float and double instantiations of simile/nn/sequential.hpp.
#include "simile/nn/sequential.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_NN_SEQUENTIAL)
}  // namespace simile
