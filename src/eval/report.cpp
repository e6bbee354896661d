// The float and double instantiations of simile/eval/report.hpp.
#include "simile/eval/report.hpp"

namespace simile {
SIMILE_INSTANTIATE_TEMPLATES(SIMILE_TEMPLATES_EVAL_REPORT)
}  // namespace simile
