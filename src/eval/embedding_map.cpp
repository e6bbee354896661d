// The compiled definitions of simile/eval/embedding_map.hpp.
#include "simile/eval/embedding_map-inl.hpp"
