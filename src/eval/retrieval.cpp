// The compiled definitions of simile/eval/retrieval.hpp.
#include "simile/eval/retrieval-inl.hpp"
