#pragma once
/// \file
/// The MPI backend of `Communicator` (Open MPI from Debian, or any MPI-3 library), built when CMake
/// finds MPI (`SIMILE_WITH_MPI`, on by default when found). `<mpi.h>` stays inside the compiled part:
/// a user's code includes this header and links simile, nothing more.
///
/// Launch: `mpirun -np N prog ...` or Slurm's `srun prog ...`; each process calls `mpi_world()` once.
/// The first call initializes MPI (threads: funneled, since only the thread that runs the training
/// loop communicates; OpenMP regions never do) unless the program already did; MPI is finalized at
/// exit if simile initialized it.
/// Errors of the transport come back as `simile::Error` naming the collective and MPI's message.

#include <cstdlib>
#include <memory>

#include "simile/core/communicator.hpp"
#include "simile/core/instantiate.hpp"

namespace simile {

/// True when this build of simile has the MPI backend.
bool mpi_built();

/// True when an MPI launcher started this process (Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE, PMIx
/// launchers such as srun set PMIX_RANK, MPICH and Hydra set PMI_SIZE): then `mpi_world()` is the
/// communicator to train with, and without a launcher the single process needs no MPI at all.
inline bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

/// MPI_COMM_WORLD as a `Communicator` (initializing MPI on the first call). Throws `Error` when this
/// build has no MPI or MPI fails to start.
std::shared_ptr<Communicator> mpi_world();

/// The communicator a tool should train with: `mpi_world()` under an MPI launcher, else the single
/// process (with no MPI call at all).
inline std::shared_ptr<Communicator> launch_world() { return launched_by_mpi() ? mpi_world() : single_process(); }

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/core/mpi-inl.hpp"
#endif
