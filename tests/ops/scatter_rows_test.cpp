// scatter_rows, the inverse of gather_rows for distinct indices: by hand, round trip, gradcheck, errors.
#include <gtest/gtest.h>

#include <vector>

#include "simile/ops.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::tensors_near;
using testing::throws_with;

TEST(ScatterRows, ByHand) {
  Var<double> x(Tensor<double>::from({1, 2, 3, 4}, {2, 2}), true);
  Var<double> y = scatter_rows(x, {3, 0}, 4);
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({3, 4, 0, 0, 0, 0, 1, 2}, {4, 2}), 0, 0));
  y.backward(Tensor<double>::from({10, 20, 30, 40, 50, 60, 70, 80}, {4, 2}));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({70, 80, 10, 20}, {2, 2}), 0, 0));
}

TEST(ScatterRows, UndoesGatherRowsAndGradchecks) {
  Var<double> x = random_param({6, 3, 2}, 1);
  std::vector<Index> idx{4, 1, 5};
  Var<double> g = gather_rows(x, idx);
  Tensor<double> back = scatter_rows(g, idx, 6).value();
  for (Index r : idx) EXPECT_TRUE(tensors_near(back.slice_rows(r, r + 1), x.value().slice_rows(r, r + 1), 0, 0));
  Var<double> small = random_param({3, 2}, 2);
  EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>& v) { return sum(pow(scatter_rows(v[0], idx, 7), 2.0)); }, {small}));
  // Nothing scattered: an all-zero result; zero rows out.
  EXPECT_EQ(scatter_rows(Var<double>(Tensor<double>::zeros({0, 2})), {}, 3).value().shape(), (Shape{3, 2}));
}

TEST(ScatterRows, Errors) {
  Var<double> x(Tensor<double>::zeros({2, 3}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { scatter_rows(x, {0, 0}, 4); }, {"scatter_rows", "given twice"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { scatter_rows(x, {0, 4}, 4); }, {"scatter_rows", "4 out of range"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { scatter_rows(x, {0}, 4); }, {"scatter_rows", "1 indices"}));
}

}  // namespace
}  // namespace simile
