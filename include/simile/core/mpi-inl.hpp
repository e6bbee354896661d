#pragma once
/// \file
/// The definitions behind `simile/core/mpi.hpp`: compiled once in `src/core/mpi.cpp`, or included by
/// that header in header-only mode (SIMILE_INLINE is then `inline`).

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include "simile/core/mpi.hpp"

#if defined(SIMILE_WITH_MPI)
#include <mpi.h>
#endif

namespace simile {

#if defined(SIMILE_WITH_MPI)

namespace detail {

/// MPI_COMM_WORLD with errors returned (not fatal) and turned into simile::Error.
class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      ok(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_ = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    ok(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    ok(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owns_ && !finalized) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void all_gather_bytes(const std::byte* in, std::span<const std::size_t> counts, std::byte* out) override {
    std::vector<int> c = ints(counts, "all_gather"), d = displacements(counts, "all_gather");
    ok(MPI_Allgatherv(in, c[static_cast<std::size_t>(rank_)], MPI_BYTE, out, c.data(), d.data(), MPI_BYTE,
                      MPI_COMM_WORLD),
       "MPI_Allgatherv");
  }
  void all_to_all_bytes(const std::byte* in, std::span<const std::size_t> send_counts, std::byte* out,
                        std::span<const std::size_t> recv_counts) override {
    std::vector<int> sc = ints(send_counts, "all_to_all"), sd = displacements(send_counts, "all_to_all");
    std::vector<int> rc = ints(recv_counts, "all_to_all"), rd = displacements(recv_counts, "all_to_all");
    ok(MPI_Alltoallv(in, sc.data(), sd.data(), MPI_BYTE, out, rc.data(), rd.data(), MPI_BYTE, MPI_COMM_WORLD),
       "MPI_Alltoallv");
  }
  void broadcast_bytes(std::byte* data, std::size_t bytes, int root) override {
    // In blocks below INT_MAX bytes (MPI counts are ints).
    constexpr std::size_t block = std::size_t(1) << 30;
    for (std::size_t off = 0; off < bytes; off += block)
      ok(MPI_Bcast(data + off, static_cast<int>(std::min(block, bytes - off)), MPI_BYTE, root, MPI_COMM_WORLD),
         "MPI_Bcast");
  }
  void barrier() override { ok(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
  }

 private:
  void ok(int code, const char* what) const {
    if (code == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING] = {};
    int len = 0;
    MPI_Error_string(code, msg, &len);
    throw Error(str("mpi: ", what, " failed on rank ", rank_, " of ", size_, ": ", std::string(msg, std::size_t(len))));
  }
  std::vector<int> ints(std::span<const std::size_t> counts, const char* who) const {
    check(counts.size() == static_cast<std::size_t>(size_), "mpi: ", who, ": ", counts.size(), " counts for ", size_,
          " ranks");
    std::vector<int> out;
    for (std::size_t c : counts) {
      check(c <= static_cast<std::size_t>(INT_MAX), "mpi: ", who, ": a block of ", c,
            " bytes exceeds MPI's limit of 2^31 - 1");
      out.push_back(static_cast<int>(c));
    }
    return out;
  }
  std::vector<int> displacements(std::span<const std::size_t> counts, const char* who) const {
    std::vector<int> out;
    std::size_t off = 0;
    for (std::size_t c : counts) {
      check(off <= static_cast<std::size_t>(INT_MAX), "mpi: ", who, ": buffers beyond 2^31 - 1 bytes");
      out.push_back(static_cast<int>(off));
      off += c;
    }
    return out;
  }

  int rank_ = 0, size_ = 1;
  bool owns_ = false;
};

}  // namespace detail

SIMILE_INLINE bool mpi_built() { return true; }

SIMILE_INLINE std::shared_ptr<Communicator> mpi_world() {
  // One world per process, kept to the end (MPI can be initialized once only); its destructor, among
  // the static ones at exit, finalizes MPI.
  static const std::shared_ptr<Communicator> world = std::make_shared<detail::MpiCommunicator>();
  return world;
}

#else

SIMILE_INLINE bool mpi_built() { return false; }

SIMILE_INLINE std::shared_ptr<Communicator> mpi_world() {
  throw Error("mpi_world: this build of simile has no MPI (configure with libopenmpi-dev installed, "
              "SIMILE_WITH_MPI=ON)");
}

#endif

}  // namespace simile
