// The compiled definitions of simile/data/hashed_ngrams.hpp.
#include "simile/data/hashed_ngrams-inl.hpp"
