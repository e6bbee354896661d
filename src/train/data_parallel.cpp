// The float and double instantiations of simile/train/data_parallel.hpp.
#include "simile/train/data_parallel.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_TRAIN_DATA_PARALLEL)
}  // namespace simile
