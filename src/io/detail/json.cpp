// The compiled definitions of simile/io/detail/json.hpp.
#include "simile/io/detail/json-inl.hpp"
