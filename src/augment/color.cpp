// The compiled definitions of simile/augment/color.hpp.
#include "simile/augment/color-inl.hpp"
