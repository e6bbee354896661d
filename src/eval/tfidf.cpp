// The compiled definitions of simile/eval/tfidf.hpp.
#include "simile/eval/tfidf-inl.hpp"
