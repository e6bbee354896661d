// The compiled definitions of simile/data/text.hpp.
#include "simile/data/text-inl.hpp"
