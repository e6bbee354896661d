// The compiled definitions of simile/augment/geometry.hpp.
#include "simile/augment/geometry-inl.hpp"
