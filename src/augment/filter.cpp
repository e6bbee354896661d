// The compiled definitions of simile/augment/filter.hpp.
#include "simile/augment/filter-inl.hpp"
