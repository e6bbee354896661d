// The compiled definitions of simile/data/bpe.hpp.
#include "simile/data/bpe-inl.hpp"
