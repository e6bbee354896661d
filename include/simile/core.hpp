#pragma once
/// \file
/// Core layer: errors, shapes, tensors, the caching allocator, random streams, threads and atomic file writes.
#include "simile/core/allocator.hpp"
#include "simile/core/atomic_file.hpp"
#include "simile/core/communicator.hpp"
#include "simile/core/error.hpp"
#include "simile/core/mpi.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/rng.hpp"
#include "simile/core/shape.hpp"
#include "simile/core/tensor.hpp"
