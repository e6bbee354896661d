// The compiled definitions of simile/eval/representation.hpp.
#include "simile/eval/representation-inl.hpp"
