// The compiled definitions of simile/core/mpi.hpp (the MPI backend when SIMILE_WITH_MPI).
#include "simile/core/mpi-inl.hpp"
