// The compiled definitions of simile/data/dataset.hpp.
#include "simile/data/dataset-inl.hpp"
