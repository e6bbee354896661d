#include "simile/ops.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::tensors_near;
using testing::throws_with;
using V = std::vector<Var<double>>;

TEST(Binary, AddByHand) {
  Var<double> a(Tensor<double>::from({1, 2, 3, 4, 5, 6}, {2, 3}), true);
  Var<double> b(Tensor<double>::from({10, 20, 30}, {3}), true);
  Var<double> y = a + b;
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({11, 22, 33, 14, 25, 36}, {2, 3})));
  sum(y).backward();
  EXPECT_TRUE(tensors_near(a.grad(), Tensor<double>::ones({2, 3})));
  EXPECT_TRUE(tensors_near(b.grad(), Tensor<double>::full({3}, 2.0)));
}

TEST(Binary, ColumnAndScalarBroadcastByHand) {
  Var<double> a(Tensor<double>::from({1, 2, 3, 4, 5, 6}, {2, 3}), true);
  Var<double> c(Tensor<double>::from({2, 10}, {2, 1}), true);
  Var<double> y = a * c;
  EXPECT_TRUE(tensors_near(y.value(), Tensor<double>::from({2, 4, 6, 40, 50, 60}, {2, 3})));
  sum(y).backward();
  EXPECT_TRUE(tensors_near(c.grad(), Tensor<double>::from({6, 15}, {2, 1})));
  EXPECT_TRUE(tensors_near(a.grad(), Tensor<double>::from({2, 2, 2, 10, 10, 10}, {2, 3})));
  Var<double> s(Tensor<double>::scalar(4.0), true);
  Var<double> z = s / a;
  sum(z).backward();
  EXPECT_NEAR(s.grad().item(), 1 + 0.5 + 1.0 / 3 + 0.25 + 0.2 + 1.0 / 6, 1e-12);
}

TEST(Binary, GradcheckAllLayouts) {
  const Shape big{7, 3};
  for (Shape small : {Shape{7, 3}, Shape{3}, Shape{1, 3}, Shape{7, 1}, Shape{7}, Shape{1}, Shape{}}) {
    for (int op = 0; op < 4; ++op) {
      auto f = [op](const V& x) {
        switch (op) {
          case 0: return add(x[0], x[1]) + sub(x[1], x[0]) * 0.5;
          case 1: return sub(x[1], x[0]);
          case 2: return mul(x[0], x[1]);
          default: return div(x[1], x[0]) + div(x[0], x[1]);
        }
      };
      SCOPED_TRACE(small.to_string() + " op " + std::to_string(op));
      EXPECT_TRUE(grad_ok(f, {random_param(big, 1, 0.5, 2), random_param(small, 2, 0.5, 2)}));
      EXPECT_TRUE(grad_ok(f, {random_param(small, 3, 0.5, 2), random_param(big, 4, 0.5, 2)}));
    }
  }
}

TEST(Binary, GradientsOfAnInputUsedTwiceOrWrittenBefore) {
  // A full-layout gradient is assigned when fresh, added to otherwise: x + x and x x write x's twice in
  // one op, relu(x) + 3 x writes it from two ops, and a broadcast b sums over its rows.
  const Tensor<double> x0 = Tensor<double>::from({1.0, -2.0, 3.0}, {3});
  Var<double> x(x0.clone(), true);
  sum(add(x, x)).backward();
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({2.0, 2.0, 2.0}, {3}), 0, 0));
  x = Var<double>(x0.clone(), true);
  sum(mul(x, x)).backward();
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({2.0, -4.0, 6.0}, {3}), 0, 0));
  x = Var<double>(x0.clone(), true);
  sum(add(relu(x), scale(x, 3.0))).backward();
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({4.0, 3.0, 4.0}, {3}), 0, 0));
  Var<double> a(Tensor<double>::ones({2, 3}), true), b(x0.clone(), true);
  sum(sub(a, b)).backward();
  EXPECT_TRUE(tensors_near(a.grad(), Tensor<double>::ones({2, 3}), 0, 0));
  EXPECT_TRUE(tensors_near(b.grad(), Tensor<double>::from({-2.0, -2.0, -2.0}, {3}), 0, 0));
}

TEST(Binary, BroadcastErrorsNameBothShapes) {
  Var<double> a(Tensor<double>::zeros({2, 3}));
  Var<double> b(Tensor<double>::zeros({2, 4}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { add(a, b); }, {"add", "[2, 3]", "[2, 4]"}));
  Var<double> c(Tensor<double>::zeros({3, 1}));
  Var<double> d(Tensor<double>::zeros({1, 3}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { mul(c, d); }, {"mul", "[3, 1]", "[1, 3]"}));
}

TEST(Unary, GradcheckEachOp) {
  std::vector<std::pair<const char*, std::function<Var<double>(const Var<double>&)>>> ops = {
      {"neg", [](const Var<double>& x) { return neg(x); }},
      {"exp", [](const Var<double>& x) { return exp(x); }},
      {"log", [](const Var<double>& x) { return log(x); }},
      {"pow", [](const Var<double>& x) { return pow(x, 2.5); }},
      {"sqrt", [](const Var<double>& x) { return sqrt(x); }},
      {"abs", [](const Var<double>& x) { return abs(x - 1.0); }},
      {"clamp", [](const Var<double>& x) { return clamp(x, 0.7, 1.6); }},
      {"relu", [](const Var<double>& x) { return relu(x - 1.0); }},
      {"leaky_relu", [](const Var<double>& x) { return leaky_relu(x - 1.0, 0.1); }},
      {"gelu", [](const Var<double>& x) { return gelu(x - 1.0); }},
      {"tanh", [](const Var<double>& x) { return tanh(x); }},
      {"sigmoid", [](const Var<double>& x) { return sigmoid(x); }},
  };
  for (Index n : {1, 3, 7, 130}) {
    for (auto& [name, op] : ops) {
      SCOPED_TRACE(std::string(name) + " n=" + std::to_string(n));
      // Values avoid the kinks of abs, clamp and relu by more than the finite-difference step.
      Var<double> x = random_param({n}, 10 + static_cast<std::uint64_t>(n), 0.2, 2.0);
      for (double& v : x.value().span())
        if (std::abs(v - 1.0) < 1e-3 || std::abs(v - 0.7) < 1e-3 || std::abs(v - 1.6) < 1e-3) v += 0.01;
      EXPECT_TRUE(grad_ok([&](const V& in) { return op(in[0]); }, {x}));
    }
  }
}

TEST(Matmul, ByHandAndGradcheckAllTransposes) {
  Var<double> a(Tensor<double>::from({1, 2, 3, 4}, {2, 2}));
  Var<double> b(Tensor<double>::from({5, 6, 7, 8}, {2, 2}));
  EXPECT_TRUE(tensors_near(matmul(a, b).value(), Tensor<double>::from({19, 22, 43, 50}, {2, 2})));
  EXPECT_TRUE(tensors_near(matmul(a, b, true, false).value(), Tensor<double>::from({26, 30, 38, 44}, {2, 2})));
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Shape sa = ta ? Shape{7, 3} : Shape{3, 7};
      Shape sb = tb ? Shape{5, 7} : Shape{7, 5};
      EXPECT_TRUE(grad_ok([&](const V& x) { return matmul(x[0], x[1], ta, tb); },
                          {random_param(sa, 1), random_param(sb, 2)}));
    }
  EXPECT_TRUE(throws_with<ShapeError>([&] { matmul(a, Var<double>(Tensor<double>::zeros({3, 2}))); },
                                      {"matmul", "[2, 2]", "[3, 2]"}));
}

TEST(Reduce, SumMeanMaxAlongAxes) {
  Var<double> x(Tensor<double>::from({1, 5, 3, 4, 2, 6}, {2, 3}), true);
  EXPECT_TRUE(tensors_near(sum(x, 0).value(), Tensor<double>::from({5, 7, 9}, {3})));
  EXPECT_TRUE(tensors_near(mean(x, 1).value(), Tensor<double>::from({3, 4}, {2})));
  EXPECT_TRUE(tensors_near(max(x, 1).value(), Tensor<double>::from({5, 6}, {2})));
  EXPECT_EQ(sum(x, -1, true).shape(), (Shape{2, 1}));
  max(x, 1).backward(Tensor<double>::from({1, 1}, {2}));
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({0, 1, 0, 0, 0, 1}, {2, 3})));
  for (int axis : {0, 1, 2, -1})
    EXPECT_TRUE(grad_ok([&](const V& v) { return sum(v[0], axis) + mean(v[0], axis) * 2.0 + max(v[0], axis); },
                        {random_param({3, 7, 5}, 5)}));
  EXPECT_TRUE(grad_ok([](const V& v) { return sum(v[0]) + mean(v[0]); }, {random_param({130}, 6)}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { sum(x, 2); }, {"sum", "axis 2", "[2, 3]"}));
}

TEST(ShapeOps, GradcheckAndViews) {
  Var<double> x = random_param({6, 4}, 7);
  EXPECT_TRUE(reshape(x, {3, 8}).value().shares_storage(x.value()));
  EXPECT_TRUE(slice_rows(x, 1, 3).value().shares_storage(x.value()));
  EXPECT_TRUE(grad_ok([](const V& v) { return reshape(v[0], {3, 8}) * 2.0; }, {x}));
  EXPECT_TRUE(grad_ok([](const V& v) { return transpose(v[0]); }, {x}));
  EXPECT_TRUE(grad_ok([](const V& v) { return slice_rows(v[0], 1, 4); }, {x}));
  EXPECT_TRUE(grad_ok([](const V& v) { return gather_rows(v[0], {5, 0, 5, 2}); }, {x}));
  for (int axis : {0, 1})
    EXPECT_TRUE(grad_ok([axis](const V& v) { return concat<double>({v[0], v[1], v[0]}, axis); },
                        {x, random_param(axis == 0 ? Shape{3, 4} : Shape{6, 2}, 8)}));
  Var<double> a(Tensor<double>::from({1, 2, 3, 4}, {2, 2}));
  Var<double> b(Tensor<double>::from({5, 6}, {1, 2}));
  EXPECT_TRUE(tensors_near(concat<double>({a, b}).value(), Tensor<double>::from({1, 2, 3, 4, 5, 6}, {3, 2})));
  EXPECT_TRUE(tensors_near(transpose(a).value(), Tensor<double>::from({1, 3, 2, 4}, {2, 2})));
  EXPECT_TRUE(throws_with<ShapeError>([&] { gather_rows(a, {2}); }, {"gather_rows", "index 2"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { concat<double>({a, Var<double>(Tensor<double>::zeros({1, 3}))}); },
                                      {"concat", "[1, 3]", "[2, 2]"}));
}

}  // namespace
}  // namespace simile
