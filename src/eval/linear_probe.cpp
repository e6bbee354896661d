// The compiled definitions of simile/eval/linear_probe.hpp.
#include "simile/eval/linear_probe-inl.hpp"
