// The compiled definitions of simile/data/wordnet.hpp.
#include "simile/data/wordnet-inl.hpp"
