// The compiled definitions of simile/data/cifar.hpp.
#include "simile/data/cifar-inl.hpp"
