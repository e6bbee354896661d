#pragma once
/// \file
/// `Communicator`: the few collectives data-parallel training needs, behind a small virtual interface
/// so that losses, batch norm and the trainer use them without knowing the transport. Two backends:
/// `SingleProcess` (one rank; every collective is a copy or nothing) and MPI (`core/mpi.hpp`, built
/// with `SIMILE_WITH_MPI`). A second transport (Gloo, say) implements the four byte-level primitives
/// below (and `abort`) and nothing else changes.
///
/// Ranks 0 .. size() - 1 call every collective in the same order with matching sizes (MPI's rule);
/// a collective that one rank skips blocks the others. The typed helpers below the class are built
/// on the primitives:
/// - `all_reduce_sum`: sums in a fixed order. Each rank owns one contiguous chunk of the buffer; every
///   rank sends it that chunk (all-to-all), the owner adds the contributions in rank order 0, 1, ...,
///   size - 1, and the sums are gathered back. The result is therefore the same bits on every rank
///   and in every run with the same rank count, whatever algorithm the transport picks, and each rank
///   sends and receives about 2 (size - 1) / size of the buffer (a ring all-reduce's volume). Small
///   buffers (batch-norm statistics, flags: at most `small_all_reduce_bytes` a rank) are instead
///   gathered whole and summed in rank order on every rank: one collective, which MPI runs in log2(size)
///   rounds, where the chunked form takes about 2 size rounds; below a few kB a message costs its
///   latency, not its bytes. Both add in the same order, so the path taken never changes a bit.
/// - `all_gather`, `broadcast`: typed views of the primitives.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "simile/core/error.hpp"

namespace simile {

/// The collectives of data-parallel training over ranks 0 .. size() - 1 (see the file comment): a
/// transport implements the byte-level primitives, the typed helpers below are built on them.
class Communicator {
 public:
  virtual ~Communicator() = default;

  /// This process's rank, in [0, size()).
  virtual int rank() const = 0;
  /// The number of ranks.
  virtual int size() const = 0;
  /// The transport ("single", "mpi"), for messages and metrics.
  virtual std::string backend() const = 0;

  /// Every rank contributes `counts[rank()]` bytes from `in`; `out` receives the blocks of all ranks in
  /// rank order (block r, counts[r] bytes, at offset counts[0] + ... + counts[r - 1]).
  virtual void all_gather_bytes(const std::byte* in, std::span<const std::size_t> counts, std::byte* out) = 0;
  /// Block r of `in` (send_counts[r] bytes, consecutive) goes to rank r; block r of `out`
  /// (recv_counts[r] bytes) comes from rank r.
  virtual void all_to_all_bytes(const std::byte* in, std::span<const std::size_t> send_counts, std::byte* out,
                                std::span<const std::size_t> recv_counts) = 0;
  /// `bytes` bytes at `data` on rank `root` are copied to `data` on every rank.
  virtual void broadcast_bytes(std::byte* data, std::size_t bytes, int root) = 0;
  /// Returns once every rank has called it.
  virtual void barrier() = 0;
  /// Ends every rank's process with exit code `code` (after an error on this rank, when the others
  /// may be waiting in a collective and would otherwise wait forever).
  [[noreturn]] virtual void abort(int code) = 0;
};

/// One process: rank 0 of 1. Collectives copy (or do nothing); nothing is sent.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  void all_gather_bytes(const std::byte* in, std::span<const std::size_t> counts, std::byte* out) override {
    check(counts.size() == 1, "SingleProcess::all_gather_bytes: ", counts.size(), " counts for 1 rank");
    if (in != out && counts[0] > 0) std::memmove(out, in, counts[0]);
  }
  void all_to_all_bytes(const std::byte* in, std::span<const std::size_t> send_counts, std::byte* out,
                        std::span<const std::size_t> recv_counts) override {
    check(send_counts.size() == 1 && recv_counts.size() == 1 && send_counts[0] == recv_counts[0],
          "SingleProcess::all_to_all_bytes: counts must be one block of equal size");
    if (in != out && send_counts[0] > 0) std::memmove(out, in, send_counts[0]);
  }
  void broadcast_bytes(std::byte*, std::size_t, int root) override {
    check(root == 0, "SingleProcess::broadcast_bytes: root ", root, " of 1 rank");
  }
  void barrier() override {}
  [[noreturn]] void abort(int code) override { std::exit(code); }
};

/// A shared single-process communicator (what "no communicator" means).
inline std::shared_ptr<Communicator> single_process() {
  static const std::shared_ptr<Communicator> one = std::make_shared<SingleProcess>();
  return one;
}

/// True when `comm` is set and spans more than one rank.
inline bool is_distributed(const Communicator* comm) { return comm != nullptr && comm->size() > 1; }

/// Element type the typed collectives take: trivially copyable arithmetic types.
template <class E>
concept Collective = std::is_arithmetic_v<E>;

/// `out` (size() x local.size() elements) receives every rank's `local` in rank order; every rank
/// gives the same count (ShapeError when `out` does not fit).
template <Collective E>
void all_gather(Communicator& comm, std::span<const E> local, std::span<E> out) {
  const auto w = static_cast<std::size_t>(comm.size());
  check<ShapeError>(out.size() == w * local.size(), "all_gather: output of ", out.size(), " elements for ", w,
                    " ranks of ", local.size());
  std::vector<std::size_t> counts(w, local.size_bytes());
  comm.all_gather_bytes(reinterpret_cast<const std::byte*>(local.data()), counts,
                        reinterpret_cast<std::byte*>(out.data()));
}

/// `data` on rank `root` copied to every rank.
template <Collective E>
void broadcast(Communicator& comm, std::span<E> data, int root = 0) {
  check(root >= 0 && root < comm.size(), "broadcast: root ", root, " of ", comm.size(), " ranks");
  if (comm.size() == 1 || data.empty()) return;
  comm.broadcast_bytes(reinterpret_cast<std::byte*>(data.data()), data.size_bytes(), root);
}

/// Above this many bytes a rank, `all_reduce_sum` reduces chunks on their owner ranks; at or below,
/// every rank gathers the whole buffers and sums them (file comment).
inline constexpr std::size_t small_all_reduce_bytes = 16 * 1024;

/// Replaces `data` on every rank by the element-wise sum over ranks, added in rank order (see the file
/// comment): the same bits on every rank, and in every run with this rank count.
template <Collective E>
void all_reduce_sum(Communicator& comm, std::span<E> data) {
  const int w = comm.size();
  if (w == 1 || data.empty()) return;
  const std::size_t n = data.size();
  if (data.size_bytes() <= small_all_reduce_bytes) {
    std::vector<E> all(n * static_cast<std::size_t>(w));
    all_gather(comm, std::span<const E>(data), std::span<E>(all));
    for (std::size_t k = 0; k < n; ++k) {
      E s = all[k];
      for (int r = 1; r < w; ++r) s += all[static_cast<std::size_t>(r) * n + k];
      data[k] = s;
    }
    return;
  }
  // Rank r owns elements [lo(r), lo(r + 1)).
  auto lo = [&](int r) { return n * static_cast<std::size_t>(r) / static_cast<std::size_t>(w); };
  const int me = comm.rank();
  const std::size_t mine = lo(me + 1) - lo(me);
  std::vector<std::size_t> send(static_cast<std::size_t>(w)), recv(static_cast<std::size_t>(w), mine * sizeof(E));
  for (int r = 0; r < w; ++r) send[static_cast<std::size_t>(r)] = (lo(r + 1) - lo(r)) * sizeof(E);
  std::vector<E> parts(mine * static_cast<std::size_t>(w));
  comm.all_to_all_bytes(reinterpret_cast<const std::byte*>(data.data()), send,
                        reinterpret_cast<std::byte*>(parts.data()), recv);
  std::vector<E> sum(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(mine));
  for (int r = 1; r < w; ++r)
    for (std::size_t k = 0; k < mine; ++k) sum[k] += parts[static_cast<std::size_t>(r) * mine + k];
  comm.all_gather_bytes(reinterpret_cast<const std::byte*>(sum.data()), send,
                        reinterpret_cast<std::byte*>(data.data()));
}

/// The sum over ranks of one value (rank order).
template <Collective E>
E all_reduce_sum(Communicator& comm, E value) {
  all_reduce_sum(comm, std::span<E>(&value, 1));
  return value;
}

}  // namespace simile
