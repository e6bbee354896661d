// The compiled definitions of simile/core/allocator.hpp.
#include "simile/core/allocator-inl.hpp"
