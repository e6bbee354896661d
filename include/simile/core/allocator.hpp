#pragma once
/// \file
/// `CachingAllocator`: 64-byte-aligned blocks for tensor storage, kept in per-size free lists when
/// released instead of being returned to the system.
///
/// Why: a page touched for the first time is expensive. glibc's malloc hands buffers above its mmap
/// threshold back to the kernel on free, so a training step that allocates its activations anew faults
/// every page in again, step after step (PyTorch's SimCLR step runs about 4x slower that way). With this
/// cache, after one warm-up step a step with the same shapes takes no new memory from the system:
/// `stats().system_allocations` stops growing, which the tests check.
///
/// Sizes are rounded up to a size class (multiples of 64 bytes below 4 KiB, then 8 classes per power of
/// two, at most 12.5 % slack) so that slightly different sizes share blocks.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "simile/core/instantiate.hpp"

namespace simile {

/// Counters of the caching allocator, for tests, benchmarks and the curious.
struct AllocatorStats {
  std::uint64_t system_allocations = 0;  ///< blocks taken from the system since start
  std::uint64_t cache_hits = 0;          ///< requests served from the free lists
  std::size_t bytes_reserved = 0;        ///< bytes held from the system (in use + cached)
  std::size_t bytes_in_use = 0;          ///< bytes handed out and not yet released
};

/// Process-wide cache of aligned blocks. Thread-safe; it never changes numerics, only where bytes live.
class CachingAllocator {
 public:
  static constexpr std::size_t alignment = 64;  ///< every block's alignment in bytes (a cache line, AVX-512)

  /// The process's allocator, created on first use; every `Tensor`'s storage comes from it.
  static CachingAllocator& instance();

  /// A block of at least `bytes` bytes, 64-byte aligned. Throws std::bad_alloc when the system has none.
  void* allocate(std::size_t bytes);

  /// Returns a block obtained from `allocate(bytes)` to the cache.
  void release(void* p, std::size_t bytes) noexcept;

  /// Frees every cached block (not the blocks in use).
  void empty_cache() noexcept;

  /// The counters so far (a consistent snapshot taken under the allocator's lock).
  AllocatorStats stats() const;

  /// The size actually reserved for a request of `bytes` bytes.
  static std::size_t size_class(std::size_t bytes);

 private:
  CachingAllocator() = default;

  mutable std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/core/allocator-inl.hpp"
#endif
