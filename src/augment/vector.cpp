// The compiled definitions of simile/augment/vector.hpp.
#include "simile/augment/vector-inl.hpp"
