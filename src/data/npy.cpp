// The compiled definitions of simile/data/npy.hpp.
#include "simile/data/npy-inl.hpp"
