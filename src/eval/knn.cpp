// The compiled definitions of simile/eval/knn.hpp.
#include "simile/eval/knn-inl.hpp"
