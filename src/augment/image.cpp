// The compiled definitions of simile/augment/image.hpp.
#include "simile/augment/image-inl.hpp"
