// The compiled definitions of simile/eval/sentence.hpp.
#include "simile/eval/sentence-inl.hpp"
