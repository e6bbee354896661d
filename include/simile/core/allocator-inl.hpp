#pragma once
/// \file
/// The definitions behind `simile/core/allocator.hpp`: compiled once in `src/core/allocator.cpp`, or included by that
/// header in header-only mode (SIMILE_INLINE is then `inline`).

#include "simile/core/allocator.hpp"

// Under AddressSanitizer the cache poisons what no tensor may touch: a cached block as a whole (a read of
// a released tensor is a use after free) and a live block past the bytes asked for (the size class's slack),
// which ASan would otherwise take for valid memory.
#if defined(__SANITIZE_ADDRESS__)
#define SIMILE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIMILE_ASAN 1
#endif
#endif
#if defined(SIMILE_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace simile::detail {

/// Marks [p, p + bytes) usable and [p + bytes, p + block) poisoned (no-ops without ASan).
inline void asan_mark_live(void* p, std::size_t bytes, std::size_t block) {
#if defined(SIMILE_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(p, bytes);
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(p) + bytes, block - bytes);
#else
  (void)p, (void)bytes, (void)block;
#endif
}

/// Marks a whole block poisoned (released to the cache) or usable (given back to the system).
inline void asan_mark_block(void* p, std::size_t block, bool poisoned) {
#if defined(SIMILE_ASAN)
  if (poisoned) ASAN_POISON_MEMORY_REGION(p, block);
  else ASAN_UNPOISON_MEMORY_REGION(p, block);
#else
  (void)p, (void)block, (void)poisoned;
#endif
}

}  // namespace simile::detail

namespace simile {

SIMILE_INLINE CachingAllocator& CachingAllocator::instance() {
  static CachingAllocator* a = new CachingAllocator();  // never destroyed: tensors may outlive statics
  return *a;
}

SIMILE_INLINE void* CachingAllocator::allocate(std::size_t bytes) {
  std::size_t cls = size_class(bytes);
  {
    std::lock_guard lock(mutex_);
    auto it = free_.find(cls);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      ++stats_.cache_hits;
      stats_.bytes_in_use += cls;
      detail::asan_mark_live(p, bytes, cls);
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
  detail::asan_mark_live(p, bytes, cls);
  return p;
}

SIMILE_INLINE void CachingAllocator::release(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  std::size_t cls = size_class(bytes);
  std::lock_guard lock(mutex_);
  stats_.bytes_in_use -= cls;
  try {
    free_[cls].push_back(p);
    detail::asan_mark_block(p, cls, true);
  } catch (...) {  // no memory even for the list: give the block back instead
    stats_.bytes_reserved -= cls;
    detail::asan_mark_block(p, cls, false);
    std::free(p);
  }
}

SIMILE_INLINE void CachingAllocator::empty_cache() noexcept {
  std::lock_guard lock(mutex_);
  for (auto& [cls, blocks] : free_) {
    for (void* p : blocks) {
      detail::asan_mark_block(p, cls, false);
      std::free(p);
    }
    stats_.bytes_reserved -= cls * blocks.size();
    blocks.clear();
  }
}

SIMILE_INLINE AllocatorStats CachingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

SIMILE_INLINE std::size_t CachingAllocator::size_class(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= 4096) return (bytes + alignment - 1) / alignment * alignment;
  // 8 classes per power of two: step = 2^(floor(log2(bytes)) - 3).
  int log2 = 63 - __builtin_clzll(static_cast<unsigned long long>(bytes));
  std::size_t step = std::size_t{1} << (log2 - 3);
  return (bytes + step - 1) / step * step;
}

}  // namespace simile
