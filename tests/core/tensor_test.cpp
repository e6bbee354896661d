#include "simile/core.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::throws_with;

TEST(Shape, BasicsAndErrors) {
  Shape s{2, 3, 4};
  EXPECT_EQ(s.rank(), 3);
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s.dim(-1), 4);
  EXPECT_EQ(s.to_string(), "[2, 3, 4]");
  EXPECT_EQ(Shape{}.numel(), 1);
  EXPECT_TRUE(throws_with<ShapeError>([&] { s.dim(3); }, {"axis 3", "[2, 3, 4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { Shape({1, 2, 3, 4, 5, 6, 7}); }, {"rank 7"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { Shape({2, -1}); }, {"negative dimension -1"}));
}

TEST(Tensor, StorageIsAlignedAndShared) {
  for (Index n : {1, 3, 7, 130, 4097}) {
    auto t = Tensor<float>::zeros({n});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
  }
  auto a = Tensor<double>::from({1, 2, 3, 4, 5, 6}, {3, 2});
  auto b = a;  // a handle, not a copy
  b.data()[0] = 10;
  EXPECT_EQ(a.at(0, 0), 10);
  auto c = a.clone();
  c.data()[0] = 20;
  EXPECT_EQ(a.at(0, 0), 10);
  EXPECT_FALSE(c.shares_storage(a));
}

TEST(Tensor, ViewsShareStorageWithoutCopy) {
  auto a = Tensor<double>::from({1, 2, 3, 4, 5, 6}, {3, 2});
  auto rows = a.slice_rows(1, 3);
  EXPECT_EQ(rows.shape(), (Shape{2, 2}));
  EXPECT_EQ(rows.data(), a.data() + 2);
  EXPECT_EQ(rows.at(0, 1), 4);
  auto flat = a.reshape({6});
  EXPECT_EQ(flat.data(), a.data());
  EXPECT_EQ(a.matrix()(2, 1), 6);
  EXPECT_EQ(a.matrix().rows(), 3);
  EXPECT_EQ(a.reshape({1, 2, 3}).cols(), 6);
  EXPECT_TRUE(throws_with<ShapeError>([&] { a.slice_rows(2, 4); }, {"slice_rows", "[2, 4)", "[3, 2]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { a.reshape({4}); }, {"reshape", "[3, 2]", "[4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { a.at(3, 0); }, {"index 3", "axis 0"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { a.item(); }, {"item", "6 elements"}));
  EXPECT_TRUE(throws_with<ShapeError>([] { Tensor<float>::from({1, 2, 3}, {2, 2}); }, {"3 values", "[2, 2]"}));
}

TEST(Tensor, ScalarsAndConversion) {
  auto s = Tensor<float>::scalar(2.5f);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item(), 2.5f);
  auto u = Tensor<std::uint8_t>::from({0, 128, 255}, {3});
  auto f = u.to<float>();
  EXPECT_EQ(f.data()[2], 255.0f);
  EXPECT_FALSE(Tensor<float>().defined());
}

TEST(Allocator, SteadyStateTakesNothingFromTheSystem) {
  auto& alloc = CachingAllocator::instance();
  auto step = [] {
    // The shapes of a small training step: activations, a big buffer above glibc's mmap threshold.
    auto a = Tensor<float>::zeros({512, 784});
    auto b = Tensor<float>::zeros({512, 256});
    auto big = Tensor<float>::zeros({64, 1024, 1024});
    return a.numel() + b.numel() + big.numel();
  };
  step();  // warm-up
  auto before = alloc.stats();
  for (int i = 0; i < 5; ++i) step();
  auto after = alloc.stats();
  EXPECT_EQ(after.system_allocations, before.system_allocations);
  EXPECT_GE(after.cache_hits, before.cache_hits + 15);
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
}

TEST(Allocator, SizeClassesBoundTheSlack) {
  for (std::size_t bytes : {1ul, 63ul, 64ul, 4096ul, 4097ul, 100000ul, 123456789ul}) {
    std::size_t c = CachingAllocator::size_class(bytes);
    EXPECT_GE(c, bytes);
    EXPECT_LE(c, std::max<std::size_t>(bytes + bytes / 8, 64));
    EXPECT_EQ(c % 64, 0u);
  }
}

}  // namespace
}  // namespace simile
