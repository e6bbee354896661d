// The float and double instantiations of simile/losses/negative_cosine.hpp.
#include "simile/losses/negative_cosine.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_LOSSES_NEGATIVE_COSINE)
}  // namespace simile
