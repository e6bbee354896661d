// The compiled definitions of simile/data/csv.hpp.
#include "simile/data/csv-inl.hpp"
