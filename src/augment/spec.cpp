// The compiled definitions of simile/augment/spec.hpp.
#include "simile/augment/spec-inl.hpp"
