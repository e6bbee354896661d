#include "simile/core.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "support/testing.hpp"

namespace simile {
namespace {

TEST(CachingAllocator, UnderAsanSlackAndCachedBlocksArePoisoned) {
#if !defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer is off in this build";
#else
  // 3 floats take a 64-byte size class: the 52 bytes after them are no tensor's memory.
  const float* data = nullptr;
  {
    Tensor<float> t = Tensor<float>::zeros({3});
    data = t.data();
    EXPECT_FALSE(__asan_address_is_poisoned(data + 2));
    EXPECT_TRUE(__asan_address_is_poisoned(data + 3));
    EXPECT_TRUE(__asan_address_is_poisoned(data + 15));
  }
  // Released to the cache: reading it is a use after free.
  EXPECT_TRUE(__asan_address_is_poisoned(data));
  // Taken again for a larger tensor of the same class: usable up to its own end.
  Tensor<float> u = Tensor<float>::zeros({5});
  ASSERT_EQ(u.data(), data);
  EXPECT_FALSE(__asan_address_is_poisoned(u.data() + 4));
  EXPECT_TRUE(__asan_address_is_poisoned(u.data() + 5));
#endif
}

}  // namespace
}  // namespace simile
