// The compiled definitions of simile/autograd/gradcheck.hpp.
#include "simile/autograd/gradcheck-inl.hpp"
