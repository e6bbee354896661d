// The compiled definitions of simile/data/idx.hpp.
#include "simile/data/idx-inl.hpp"
