// The compiled definitions of simile/augment/multiview.hpp.
#include "simile/augment/multiview-inl.hpp"
