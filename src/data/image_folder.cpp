// The compiled definitions of simile/data/image_folder.hpp.
#include "simile/data/image_folder-inl.hpp"
