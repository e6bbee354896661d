// The float and double instantiations of simile/losses/info_nce.hpp.
#include "simile/losses/info_nce.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_LOSSES_INFO_NCE)
}  // namespace simile
