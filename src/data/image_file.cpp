// The compiled definitions of simile/data/image_file.hpp.
#include "simile/data/image_file-inl.hpp"
