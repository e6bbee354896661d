// The oneDNN conv2d backend, compiled once: the only translation unit of simile that includes <dnnl.hpp>.
#include "simile/ops/detail/conv_onednn.hpp"

#if defined(SIMILE_WITH_ONEDNN)
#include "simile/ops/detail/conv_onednn-inl.hpp"
#endif
