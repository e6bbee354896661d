// The compiled definitions of simile/sampling/pairs.hpp.
#include "simile/sampling/pairs-inl.hpp"
