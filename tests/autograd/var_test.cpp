#include "simile/autograd.hpp"
#include "simile/ops.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::random_param;
using testing::tensors_near;
using testing::throws_with;

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Var<double> x(Tensor<double>::from({1, 2, 3}, {3}), true);
  sum(x * x).backward();
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({2, 4, 6}, {3})));
  sum(x * 3.0).backward();
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::from({5, 7, 9}, {3})));
  x.zero_grad();
  EXPECT_FALSE(x.has_grad());
}

TEST(Autograd, SharedSubexpressionsSumTheirPaths) {
  // y = (a*b) + (a*b)^2 with a*b used twice: dy/da = b (1 + 2ab).
  Var<double> a(Tensor<double>::scalar(3.0), true);
  Var<double> b(Tensor<double>::scalar(2.0), true);
  Var<double> ab = a * b;
  Var<double> y = ab + ab * ab;
  y.backward();
  EXPECT_DOUBLE_EQ(a.grad().item(), 2.0 * (1 + 2 * 6.0));
  EXPECT_DOUBLE_EQ(b.grad().item(), 3.0 * (1 + 2 * 6.0));
}

TEST(Autograd, FrozenInputsGetNoGradientAndCostNothing) {
  Var<double> w = random_param({3, 2}, 1);
  Var<double> data(testing::random_tensor<double>({4, 3}, 2));  // no grad
  w.set_requires_grad(false);
  Var<double> y = matmul(data, w);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.node()->inputs.empty());  // nothing recorded
  w.set_requires_grad(true);
  Var<double> z = matmul(data, w);
  EXPECT_TRUE(z.requires_grad());
  sum(z).backward();
  EXPECT_TRUE(w.has_grad());
  EXPECT_FALSE(data.has_grad());
}

TEST(Autograd, NoGradGuardAndDetachStopRecording) {
  Var<double> x = random_param({5}, 3);
  {
    NoGradGuard guard;
    EXPECT_FALSE(grad_enabled());
    Var<double> y = exp(x);
    EXPECT_FALSE(y.requires_grad());
  }
  EXPECT_TRUE(grad_enabled());
  Var<double> d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.value().shares_storage(x.value()));
  Var<double> y = x * d;  // d is a constant: dy/dx = d
  sum(y).backward();
  EXPECT_TRUE(tensors_near(x.grad(), x.value()));
}

TEST(Autograd, GraphIsFreedAfterBackward) {
  Var<double> x = random_param({4}, 4);
  Var<double> h = exp(x);
  std::weak_ptr<Node<double>> inner = h.node_ptr();
  Var<double> loss = sum(h * 2.0);
  h = Var<double>();  // only the graph holds the intermediate now
  EXPECT_FALSE(inner.expired());
  loss.backward();
  EXPECT_TRUE(inner.expired());
  EXPECT_TRUE(loss.node()->inputs.empty());
  EXPECT_TRUE(x.has_grad());
}

TEST(Autograd, BackwardChecksItsSeed) {
  Var<double> x = random_param({2, 2}, 5);
  Var<double> y = x * 2.0;
  EXPECT_TRUE(throws_with<ShapeError>([&] { y.backward(); }, {"backward", "[2, 2]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { y.backward(Tensor<double>::ones({4})); }, {"seed", "[4]", "[2, 2]"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { y.set_requires_grad(false); }, {"only leaves", "scale"}));
}

TEST(Autograd, DeepChainsDoNotOverflowTheStack) {
  Var<double> x(Tensor<double>::scalar(1.0), true);
  Var<double> y = x;
  for (int i = 0; i < 100000; ++i) y = y + 1e-6;
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 1.0);
  y = Var<double>();
  Var<double> z = x;
  for (int i = 0; i < 1000000; ++i) z = z * 1.0;
  z = Var<double>();  // dropping a deep graph that never ran backward must not recurse
}

TEST(Gradcheck, CatchesAWrongBackward) {
  // An op whose backward is off by a factor of 2 must fail the check and name the worst element.
  auto bad_square = [](const Var<double>& x) {
    Tensor<double> y = Tensor<double>::empty(x.shape());
    y.array() = x.value().array().square();
    Tensor<double> xv = x.value();
    return make_op<double>("bad_square", std::move(y), {x}, [xv](Node<double>& self) {
      if (auto* g = self.grad_for(0)) g->array() += self.grad.array() * xv.array();  // should be 2x
    });
  };
  Var<double> x = random_param({3}, 6, 0.5, 1.0);
  auto r = gradcheck([&](const std::vector<Var<double>>& in) { return bad_square(in[0]); }, {x});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.checked, 3);
  EXPECT_NEAR(r.analytic * 2, r.numeric, 1e-6 * std::abs(r.numeric) + 1e-8);
  EXPECT_NE(r.message().find("FAILED"), std::string::npos);
  auto good = gradcheck([](const std::vector<Var<double>>& in) { return in[0] * in[0]; }, {x});
  EXPECT_TRUE(good.ok) << good.message();
}

TEST(GradTarget, AssignsOnlyAFreshUnsharedBuffer) {
  // An op that records, for each input, whether its gradient came fresh (to assign) or not.
  std::vector<int> seen;  // 1 assign, 0 accumulate, -1 no gradient
  auto probe = [&seen](const Var<double>& a, const Var<double>& b) {
    return make_op<double>("probe", a.value().clone(), {a, b}, [&seen](Node<double>& self) {
      for (std::size_t i = 0; i < 2; ++i) {
        const auto t = self.grad_target(i);
        seen.push_back(t ? int(t.assign) : -1);
        if (t) write_grad(t.data, self.grad.numel(), t.assign, [&](Index k) { return self.grad.data()[k]; });
      }
    });
  };
  Var<double> x(Tensor<double>::full({3}, 1.0), true), frozen(Tensor<double>::ones({3}));
  probe(x, frozen).backward(Tensor<double>::full({3}, 2.0));
  EXPECT_EQ(seen, (std::vector<int>{1, -1}));  // fresh: assigned, nothing to zero first
  EXPECT_TRUE(tensors_near(x.grad(), Tensor<double>::full({3}, 2.0), 0, 0));
  // x used twice by one op: the second write must not see an uninitialized buffer.
  seen.clear();
  Var<double> fresh(Tensor<double>::ones({3}), true);
  probe(fresh, fresh).backward(Tensor<double>::full({3}, 2.0));
  EXPECT_EQ(seen, (std::vector<int>{0, 0}));
  EXPECT_TRUE(tensors_near(fresh.grad(), Tensor<double>::full({3}, 4.0), 0, 0));
  // A gradient already written by another consumer is added to.
  seen.clear();
  Var<double> z(Tensor<double>::ones({3}), true);
  Var<double> other(Tensor<double>::ones({3}), true);
  Var<double> probed = probe(z, other);
  Var<double> tripled = z * 3.0;  // made after the probe, so its backward runs first
  (probed + tripled).backward(Tensor<double>::ones({3}));
  EXPECT_EQ(seen, (std::vector<int>{0, 1}));  // z's gradient already holds 3 from z * 3.0
  EXPECT_TRUE(tensors_near(z.grad(), Tensor<double>::full({3}, 4.0), 0, 0));
  EXPECT_TRUE(tensors_near(other.grad(), Tensor<double>::ones({3}), 0, 0));
}

TEST(Gradcheck, RefusesAFunctionWithoutTrainableInputs) {
  Var<double> c(Tensor<double>::ones({2}));
  EXPECT_THROW(gradcheck([](const std::vector<Var<double>>& in) { return in[0] * 2.0; }, {c}), ValueError);
}

}  // namespace
}  // namespace simile

namespace simile {
namespace {
TEST(Profiler, ChargesForwardAndBackwardToEachOp) {
  ProfileTable table;
  Var<double> x = testing::random_param({64, 64}, 7);
  {
    Profiler p(table);
    for (int i = 0; i < 3; ++i) {
      Var<double> y = sum(matmul(x, x) * 2.0);
      y.backward();
    }
    { ProfileScope s("phase"); }
  }
  EXPECT_EQ(table.forward.at("matmul").calls, 3);
  EXPECT_EQ(table.forward.at("scale").calls, 3);
  EXPECT_EQ(table.backward.at("matmul").calls, 3);
  EXPECT_EQ(table.other.at("phase").calls, 1);
  EXPECT_NE(table.format(3).find("| matmul |"), std::string::npos);
  // Outside a Profiler nothing is recorded.
  sum(x * 3.0).backward();
  EXPECT_EQ(table.forward.at("scale").calls, 3);
}
}  // namespace
}  // namespace simile
