// The compiled definitions of simile/data/file.hpp.
#include "simile/data/file-inl.hpp"
