// The compiled definitions of simile/io/safetensors.hpp.
#include "simile/io/safetensors-inl.hpp"
