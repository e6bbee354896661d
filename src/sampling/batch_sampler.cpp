// The compiled definitions of simile/sampling/batch_sampler.hpp.
#include "simile/sampling/batch_sampler-inl.hpp"
