#include "simile/losses.hpp"
#include "simile/sampling.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::random_param;
using testing::tensors_near;
using testing::throws_with;

Tensor<double> rows_from(std::initializer_list<double> firsts) {
  // Row r is (v, 10 v) for the r-th value v: easy to recognize after wrapping.
  std::vector<double> v;
  for (double f : firsts) v.insert(v.end(), {f, 10 * f});
  return Tensor<double>::from(v, {static_cast<Index>(firsts.size()), 2});
}

TEST(MomentumQueue, FifoWithWrapAround) {
  MomentumQueue<double> q(4, 2);
  EXPECT_EQ(q.size(), 0);
  EXPECT_EQ(q.keys().rows(), 0);
  q.enqueue(rows_from({1, 2, 3}));
  EXPECT_EQ(q.size(), 3);
  EXPECT_TRUE(tensors_near(q.keys_in_order(), rows_from({1, 2, 3}), 0, 0));
  q.enqueue(rows_from({4, 5}));  // fills the last row, then replaces the oldest (1)
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.head(), 1);
  EXPECT_TRUE(tensors_near(q.keys_in_order(), rows_from({2, 3, 4, 5}), 0, 0));
  EXPECT_TRUE(tensors_near(q.keys(), rows_from({5, 2, 3, 4}), 0, 0));  // buffer order
  q.enqueue(rows_from({6, 7, 8, 9, 10, 11}));  // more than the capacity: the last 4 stay
  EXPECT_TRUE(tensors_near(q.keys_in_order(), rows_from({8, 9, 10, 11}), 0, 0));
}

TEST(MomentumQueue, MaskSkipsRows) {
  MomentumQueue<double> q(3, 2);
  std::vector<bool> mask{true, false, true, false};
  q.enqueue(rows_from({1, 2, 3, 4}), mask);
  EXPECT_TRUE(tensors_near(q.keys_in_order(), rows_from({1, 3}), 0, 0));
  EXPECT_TRUE(throws_with<ShapeError>([&] { q.enqueue(rows_from({1, 2}), std::vector<bool>{true}); },
                                      {"MomentumQueue::enqueue", "1 entries", "2 keys"}));
}

TEST(MomentumQueue, HoldsNoGradientAndCopiesKeys) {
  MomentumQueue<double> q(5, 3);
  Var<double> k = random_param({2, 3}, 1);
  q.enqueue(k);  // a Var that requires a gradient: only its values are copied
  EXPECT_FALSE(q.keys().shares_storage(k.value()));
  Tensor<double> before = q.keys().clone();
  k.value().fill(7);
  EXPECT_TRUE(tensors_near(q.keys(), before, 0, 0));
  // Used as InfoNCE negatives, the queue takes no gradient and is left unchanged by backward.
  Var<double> query = random_param({2, 3}, 2);
  info_nce(query, k, q.keys()).backward();
  EXPECT_TRUE(tensors_near(q.keys(), before, 0, 0));
}

TEST(MomentumQueue, StateRoundTrip) {
  MomentumQueue<float> a(4, 2), b(4, 2);
  a.enqueue(Tensor<float>::from({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {5, 2}));
  b.load_state(a.state());
  EXPECT_EQ(b.head(), a.head());
  EXPECT_EQ(b.size(), a.size());
  EXPECT_TRUE(tensors_near(b.keys_in_order(), a.keys_in_order(), 0, 0));
  a.enqueue(Tensor<float>::from({11, 12}, {1, 2}));
  b.enqueue(Tensor<float>::from({11, 12}, {1, 2}));
  EXPECT_TRUE(tensors_near(b.keys_in_order(), a.keys_in_order(), 0, 0));
  MomentumQueue<float> c(3, 2);
  EXPECT_TRUE(throws_with<ShapeError>([&] { c.load_state(a.state()); }, {"load_state", "[4, 2]", "[3, 2]"}));
  MomentumQueueState<float> poisoned = a.state();
  poisoned.buffer = poisoned.buffer.clone();
  poisoned.buffer.data()[3] = INFINITY;
  EXPECT_TRUE(throws_with<NumericError>([&] { b.load_state(poisoned); }, {"load_state", "NaN or infinity"}));
  EXPECT_TRUE(tensors_near(b.keys_in_order(), a.keys_in_order(), 0, 0));  // unchanged
  EXPECT_TRUE(throws_with<ValueError>([] { MomentumQueue<float>(0, 2); }, {"MomentumQueue", "capacity 0"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { a.enqueue(Tensor<float>::ones({2, 3})); }, {"enqueue", "[2, 3]"}));
}

}  // namespace
}  // namespace simile
