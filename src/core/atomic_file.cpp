// The compiled definitions of simile/core/atomic_file.hpp.
#include "simile/core/atomic_file-inl.hpp"
