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
  static constexpr std::size_t alignment = 64;

  static CachingAllocator& instance() {
    static CachingAllocator* a = new CachingAllocator();  // never destroyed: tensors may outlive statics
    return *a;
  }

  /// A block of at least `bytes` bytes, 64-byte aligned. Throws std::bad_alloc when the system has none.
  void* allocate(std::size_t bytes) {
    std::size_t cls = size_class(bytes);
    {
      std::lock_guard lock(mutex_);
      auto it = free_.find(cls);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        ++stats_.cache_hits;
        stats_.bytes_in_use += cls;
        return p;
      }
    }
    void* p = std::aligned_alloc(alignment, cls);
    if (!p) {
      empty_cache();  // give the system back what we hold, then try once more
      p = std::aligned_alloc(alignment, cls);
      if (!p) throw std::bad_alloc();
    }
    std::lock_guard lock(mutex_);
    ++stats_.system_allocations;
    stats_.bytes_reserved += cls;
    stats_.bytes_in_use += cls;
    return p;
  }

  /// Returns a block obtained from `allocate(bytes)` to the cache.
  void release(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    std::size_t cls = size_class(bytes);
    std::lock_guard lock(mutex_);
    stats_.bytes_in_use -= cls;
    try {
      free_[cls].push_back(p);
    } catch (...) {  // no memory even for the list: give the block back instead
      stats_.bytes_reserved -= cls;
      std::free(p);
    }
  }

  /// Frees every cached block (not the blocks in use).
  void empty_cache() noexcept {
    std::lock_guard lock(mutex_);
    for (auto& [cls, blocks] : free_) {
      for (void* p : blocks) std::free(p);
      stats_.bytes_reserved -= cls * blocks.size();
      blocks.clear();
    }
  }

  AllocatorStats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  /// The size actually reserved for a request of `bytes` bytes.
  static std::size_t size_class(std::size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (bytes <= 4096) return (bytes + alignment - 1) / alignment * alignment;
    // 8 classes per power of two: step = 2^(floor(log2(bytes)) - 3).
    int log2 = 63 - __builtin_clzll(static_cast<unsigned long long>(bytes));
    std::size_t step = std::size_t{1} << (log2 - 3);
    return (bytes + step - 1) / step * step;
  }

 private:
  CachingAllocator() = default;

  mutable std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

}  // namespace simile
