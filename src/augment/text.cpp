// The compiled definitions of simile/augment/text.hpp.
#include "simile/augment/text-inl.hpp"
