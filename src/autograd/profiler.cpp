// The compiled definitions of simile/autograd/profiler.hpp.
#include "simile/autograd/profiler-inl.hpp"
