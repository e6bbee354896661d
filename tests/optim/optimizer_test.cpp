#include <cmath>
#include <limits>

#include "simile/nn.hpp"
#include "simile/optim.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::random_tensor;
using testing::tensors_near;
using testing::throws_with;

Var<double> param(std::initializer_list<double> v) {
  return Var<double>(Tensor<double>::from(v, {static_cast<Index>(v.size())}), true);
}
void set_grad(const Var<double>& p, std::initializer_list<double> g) {
  p.node()->grad = Tensor<double>::from(g, p.shape());
}

// ---- SGD ------------------------------------------------------------------------------------------

TEST(SGD, PlainStepByHand) {
  Var<double> p = param({1, -2});
  optim::SGD<double> opt({p}, {.lr = 0.5});
  set_grad(p, {0.2, -0.4});
  opt.step();
  EXPECT_TRUE(tensors_near(p.value(), Tensor<double>::from({0.9, -1.8}, {2}), 1e-15));
  EXPECT_EQ(opt.steps(), 1);
  EXPECT_TRUE(opt.state().tensors.empty());  // no momentum, no buffer
}

TEST(SGD, NesterovMomentumWeightDecayThreeStepsByHand) {
  // lr 0.1, mu 0.9, lambda 0.1, p0 = 1:
  // 1: d = 0.5 + 0.1 = 0.6, b = 0.6, step = 0.6 + 0.54 = 1.14, p = 0.886
  // 2: d = -1 + 0.0886 = -0.9114, b = 0.54 - 0.9114 = -0.3714, step = -0.9114 - 0.33426, p = 1.010566
  // 3: d = 0.2 + 0.1010566 = 0.3010566, b = -0.33426 + 0.3010566 = -0.0332034,
  //    step = 0.3010566 - 0.02988306 = 0.27117354, p = 0.983448646
  Var<double> p = param({1});
  optim::SGD<double> opt({p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true});
  const double grads[] = {0.5, -1, 0.2};
  const double expected[] = {0.886, 1.010566, 0.983448646};
  const double buffers[] = {0.6, -0.3714, -0.0332034};
  for (int s = 0; s < 3; ++s) {
    set_grad(p, {grads[s]});
    opt.step();
    EXPECT_NEAR(p.value().item(), expected[s], 1e-12) << "step " << s + 1;
    EXPECT_NEAR(opt.state().tensors.at(0).second.item(), buffers[s], 1e-12) << "step " << s + 1;
  }
  EXPECT_EQ(opt.state().tensors.at(0).first, "0.momentum_buffer");
}

TEST(SGD, DampeningSkipsTheFirstStepAsPyTorch) {
  // lr 0.1, mu 0.9, tau 0.5: b1 = g1 = 0.5 (undamped), p = 0.95; b2 = 0.45 - 0.5 = -0.05, p = 0.955.
  Var<double> p = param({1});
  optim::SGD<double> opt({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
  set_grad(p, {0.5});
  opt.step();
  EXPECT_NEAR(p.value().item(), 0.95, 1e-15);
  set_grad(p, {-1});
  opt.step();
  EXPECT_NEAR(p.value().item(), 0.955, 1e-15);
}

TEST(SGD, MatchesAScalarReferenceOnManyElements) {
  // The same rule written per element in the test, on 130 elements with per-step random gradients.
  const Index n = 130;
  Var<double> p(random_tensor<double>({n}, 1), true);
  Tensor<double> ref = p.value().clone(), buf = Tensor<double>::zeros({n});
  const double lr = 0.05, mu = 0.8, wd = 0.01;
  optim::SGD<double> opt({p}, {.lr = lr, .momentum = mu, .weight_decay = wd});
  for (int s = 0; s < 4; ++s) {
    Tensor<double> g = random_tensor<double>({n}, 10 + static_cast<std::uint64_t>(s));
    p.node()->grad = g.clone();
    opt.step();
    for (Index i = 0; i < n; ++i) {
      double d = g.data()[i] + wd * ref.data()[i];
      buf.data()[i] = s == 0 ? d : mu * buf.data()[i] + d;
      ref.data()[i] -= lr * buf.data()[i];
    }
    EXPECT_TRUE(tensors_near(p.value(), ref, 1e-14, 1e-14)) << "step " << s + 1;
  }
}

// ---- Adam and AdamW -------------------------------------------------------------------------------

TEST(Adam, BiasCorrectionOnSteps1And2ByHand) {
  // Step 1: m = 0.05, v = 0.00025, m / (1 - 0.9) = 0.5, v / (1 - 0.999) = 0.25: p = 1 - 0.1 * 0.5 / (0.5 + eps).
  // Step 2 (g = -1): m = -0.055, v = 0.00124975, bias corrections 0.19 and 0.001999.
  Var<double> p = param({1});
  optim::Adam<double> opt({p}, {.lr = 0.1});
  set_grad(p, {0.5});
  opt.step();
  EXPECT_NEAR(p.value().item(), 1 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-15);
  set_grad(p, {-1});
  opt.step();
  double m = -0.055, v = 0.00124975;
  double expected = (1 - 0.1 * 0.5 / (0.5 + 1e-8)) - 0.1 / 0.19 * m / (std::sqrt(v) / std::sqrt(0.001999) + 1e-8);
  EXPECT_NEAR(p.value().item(), expected, 1e-12);
  EXPECT_NEAR(expected, 0.93661035424, 1e-10);
  optim::OptimizerState<double> s = opt.state();
  ASSERT_EQ(s.tensors.size(), 2u);
  EXPECT_EQ(s.tensors[0].first, "0.exp_avg");
  EXPECT_NEAR(s.tensors[0].second.item(), m, 1e-15);
  EXPECT_EQ(s.tensors[1].first, "0.exp_avg_sq");
  EXPECT_NEAR(s.tensors[1].second.item(), v, 1e-15);
  EXPECT_EQ(s.counters, (std::vector<std::pair<std::string, std::int64_t>>{{"0.step", 2}}));
}

TEST(Adam, FirstStepMovesEachElementByAboutLr) {
  // With bias correction the first update is lr * g / (|g| + eps'), whatever the gradient's scale.
  Var<double> p(Tensor<double>::zeros({4}), true);
  optim::Adam<double> opt({p}, {.lr = 0.01, .eps = 0});
  p.node()->grad = Tensor<double>::from({1e-6, -3, 250, -0.5}, {4});
  opt.step();
  EXPECT_TRUE(tensors_near(p.value(), Tensor<double>::from({-0.01, 0.01, -0.01, 0.01}, {4}), 1e-14));
}

TEST(Adam, L2WeightDecayEntersTheMoments) {
  // Adam with lambda: g' = g + lambda p = 0 + 0.5 * 2 = 1, then the usual first step: p = 2 - lr.
  Var<double> p = param({2});
  optim::Adam<double> opt({p}, {.lr = 0.1, .eps = 0, .weight_decay = 0.5});
  set_grad(p, {0});
  opt.step();
  EXPECT_NEAR(p.value().item(), 1.9, 1e-15);
  EXPECT_NEAR(opt.state().tensors[0].second.item(), 0.1, 1e-15);  // m = (1 - 0.9) * 1
}

TEST(AdamW, DecoupledDecayIsLrTimesLambdaTimesP) {
  // Zero gradient: the moments stay 0, the Adam step is 0, and p shrinks by (1 - lr lambda) per step.
  Var<double> p = param({2, -4});
  optim::AdamW<double> opt({p}, {.lr = 0.1, .weight_decay = 0.5});
  for (int s = 0; s < 3; ++s) {
    set_grad(p, {0, 0});
    opt.step();
  }
  EXPECT_TRUE(tensors_near(p.value(), Tensor<double>::from({2 * 0.95 * 0.95 * 0.95, -4 * 0.95 * 0.95 * 0.95}, {2}), 1e-15));
  // With a gradient: p = p (1 - lr lambda) - lr m^ / (sqrt(v^) + eps), decay not in the moments.
  Var<double> q = param({3});
  optim::AdamW<double> opt2({q}, {.lr = 0.1, .eps = 0, .weight_decay = 0.2});
  set_grad(q, {-2});
  opt2.step();
  EXPECT_NEAR(q.value().item(), 3 * (1 - 0.02) + 0.1, 1e-14);
  EXPECT_NEAR(opt2.state().tensors[0].second.item(), -0.2, 1e-15);
  EXPECT_EQ(optim::AdamWOptions{}.weight_decay, 0.01);  // PyTorch's default
}

// ---- LARS -----------------------------------------------------------------------------------------

TEST(LARS, TrustRatioByHand) {
  // w = (3, 4): ||w|| = 5; g = (0.6, 0.8): ||g|| = 1; eta 1e-3, lambda 0.01, lr 1, mu 0.9.
  // r = 1e-3 * 5 / (1 + 0.01 * 5) = 0.005 / 1.05; d = g + 0.01 w = (0.63, 0.84) = 1.05 (0.6, 0.8);
  // v = r d = (0.003, 0.004); w = (2.997, 3.996).
  Var<double> w = param({3, 4});
  optim::LARS<double> opt({w}, {.lr = 1, .momentum = 0.9, .weight_decay = 0.01, .eta = 1e-3});
  set_grad(w, {0.6, 0.8});
  opt.step();
  EXPECT_NEAR(opt.last_trust_ratio(0), 0.005 / 1.05, 1e-15);
  EXPECT_TRUE(tensors_near(w.value(), Tensor<double>::from({2.997, 3.996}, {2}), 1e-14));
  // Step 2, same gradient: ||w|| and the ratio change; v = 0.9 v + r2 (g + lambda w).
  double wn = std::sqrt(2.997 * 2.997 + 3.996 * 3.996);
  double r2 = 1e-3 * wn / (1 + 0.01 * wn);
  double v0 = 0.9 * 0.003 + r2 * (0.6 + 0.01 * 2.997), v1 = 0.9 * 0.004 + r2 * (0.8 + 0.01 * 3.996);
  set_grad(w, {0.6, 0.8});
  opt.step();
  EXPECT_NEAR(opt.last_trust_ratio(0), r2, 1e-15);
  EXPECT_TRUE(tensors_near(w.value(), Tensor<double>::from({2.997 - v0, 3.996 - v1}, {2}), 1e-14));
}

TEST(LARS, DecayedGradientNormAndNesterov) {
  // g orthogonal to w: ||g + lambda w|| = sqrt(0.83^2 + 0.56^2) differs from ||g|| + lambda ||w|| = 1.05.
  Var<double> w = param({3, 4});
  optim::LARS<double> opt({w}, {.lr = 2, .momentum = 0.5, .weight_decay = 0.01, .eta = 1e-3, .nesterov = true,
                                .trust_norm = optim::LarsTrustNorm::decayed_gradient});
  set_grad(w, {0.8, -0.6});
  opt.step();
  double r = 1e-3 * 5 / std::sqrt(0.83 * 0.83 + 0.56 * 0.56);
  EXPECT_NEAR(opt.last_trust_ratio(0), r, 1e-15);
  // Nesterov: v = 2 r d; w -= 0.5 v + 2 r d = 1.5 * 2 r d.
  EXPECT_TRUE(tensors_near(w.value(), Tensor<double>::from({3 - 3 * r * 0.83, 4 + 3 * r * 0.56}, {2}), 1e-14));
}

TEST(LARS, ExcludedGroupGetsNoDecayNorAdaptationAndZeroNormsGiveRatioOne) {
  Var<double> w = param({3, 4});
  Var<double> b = param({1, -1});
  Var<double> z = param({0, 0});
  optim::LarsOptions o{.lr = 0.5, .momentum = 0.9, .weight_decay = 0.1, .eta = 1e-3};
  optim::LarsOptions off = o;
  off.weight_decay = 0;
  off.adaptation = false;
  optim::LARS<double> opt({{{w, z}, o}, {{b}, off}});
  set_grad(w, {0.6, 0.8});
  set_grad(z, {1, 1});
  set_grad(b, {0.5, 0.5});
  opt.step();
  EXPECT_LT(opt.last_trust_ratio(0), 0.01);
  EXPECT_EQ(opt.last_trust_ratio(1), 1.0);  // ||w|| = 0
  EXPECT_EQ(opt.last_trust_ratio(2), 1.0);  // excluded
  EXPECT_TRUE(tensors_near(z.value(), Tensor<double>::from({-0.5, -0.5}, {2}), 1e-15));
  EXPECT_TRUE(tensors_near(b.value(), Tensor<double>::from({0.75, -1.25}, {2}), 1e-15));  // plain lr * g
  set_grad(b, {0.5, 0.5});
  opt.step();  // v = 0.9 * 0.25 + 0.25
  EXPECT_TRUE(tensors_near(b.value(), Tensor<double>::from({0.75 - 0.475, -1.25 - 0.475}, {2}), 1e-15));
}

TEST(LARS, DecayGroupsSplitAModuleByRank) {
  Rng rng(1);
  nn::Sequential<double> net{std::make_shared<nn::Linear<double>>(nn::LinearOptions{3, 4}, rng),
                             std::make_shared<nn::ReLU<double>>(),
                             std::make_shared<nn::Linear<double>>(nn::LinearOptions{4, 2}, rng)};
  auto groups = optim::decay_groups(net.named_parameters(), optim::LarsOptions{.lr = 0.3, .weight_decay = 1e-6});
  ASSERT_EQ(groups.size(), 2u);
  ASSERT_EQ(groups[0].params.size(), 2u);
  EXPECT_EQ(groups[0].params[0].node(), net.parameter("0.weight").node());
  EXPECT_EQ(groups[0].params[1].node(), net.parameter("2.weight").node());
  ASSERT_EQ(groups[1].params.size(), 2u);
  EXPECT_EQ(groups[1].params[0].node(), net.parameter("0.bias").node());
  EXPECT_EQ(groups[1].params[1].node(), net.parameter("2.bias").node());
  EXPECT_TRUE(groups[0].options.adaptation);
  EXPECT_EQ(groups[0].options.weight_decay, 1e-6);
  EXPECT_FALSE(groups[1].options.adaptation);
  EXPECT_EQ(groups[1].options.weight_decay, 0);
  EXPECT_EQ(groups[1].options.lr, 0.3);
  optim::LARS<double> opt(groups);
  EXPECT_EQ(opt.num_params(), 4u);
  // The same helper serves AdamW; a custom rule excludes by name.
  auto adamw = optim::decay_groups(net.named_parameters(), optim::AdamWOptions{},
                                   [](const std::string& name, const Var<double>&) { return name.starts_with("2."); });
  EXPECT_EQ(adamw[0].params.size(), 2u);
  EXPECT_EQ(adamw[1].params[0].node(), net.parameter("2.weight").node());
  EXPECT_EQ(adamw[1].options.weight_decay, 0);
}

// ---- common behaviour -----------------------------------------------------------------------------

/// Runs `steps` steps of `opt` on p with gradients drawn from (seed, step).
template <class Opt>
void run(Opt& opt, const std::vector<Var<double>>& ps, int from, int steps) {
  for (int s = from; s < from + steps; ++s) {
    for (std::size_t k = 0; k < ps.size(); ++k)
      ps[k].node()->grad = random_tensor<double>(ps[k].shape(), 1000 + 10 * static_cast<std::uint64_t>(s) + k);
    opt.step();
  }
}

template <class Opt, class Options>
void check_round_trip(const Options& options) {
  std::vector<Var<double>> a = {Var<double>(random_tensor<double>({3, 5}, 1), true),
                                Var<double>(random_tensor<double>({5}, 2), true)};
  Opt opt_a(a, options);
  run(opt_a, a, 0, 2);
  optim::OptimizerState<double> saved = opt_a.state();
  // A fresh optimizer over copies of the current values continues identically after load_state.
  std::vector<Var<double>> b = {Var<double>(a[0].value().clone(), true), Var<double>(a[1].value().clone(), true)};
  Opt opt_b(b, options);
  opt_b.set_lr(0, 123.0);
  opt_b.load_state(saved);
  EXPECT_EQ(opt_b.steps(), 2);
  EXPECT_EQ(opt_b.lr(0), options.lr);
  run(opt_a, a, 2, 3);
  run(opt_b, b, 2, 3);
  for (int k = 0; k < 2; ++k) EXPECT_TRUE(tensors_near(a[k].value(), b[k].value(), 0, 0)) << opt_a.name();
  // The snapshot has its own storage: running on did not change it.
  EXPECT_FALSE(tensors_near(saved.tensors[0].second, opt_a.state().tensors[0].second, 0, 0));
}

TEST(OptimizerState, RoundTripContinuesIdentically) {
  check_round_trip<optim::SGD<double>>(optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3});
  check_round_trip<optim::Adam<double>>(optim::AdamOptions{.lr = 0.01, .weight_decay = 1e-3});
  check_round_trip<optim::AdamW<double>>(optim::AdamWOptions{.lr = 0.01});
  check_round_trip<optim::LARS<double>>(optim::LarsOptions{.lr = 0.5, .nesterov = true});
}

TEST(OptimizerState, LoadStateRejectsMismatches) {
  Var<double> p(random_tensor<double>({2, 3}, 3), true);
  optim::Adam<double> opt({p}, {});
  run(opt, {p}, 0, 1);
  auto good = opt.state();
  auto bad = good;
  bad.tensors[0].second = Tensor<double>::zeros({3, 2});
  EXPECT_TRUE(throws_with<ShapeError>([&] { opt.load_state(bad); }, {"Adam::load_state", "0.exp_avg", "[3, 2]", "[2, 3]"}));
  bad = good;
  bad.tensors[0].first = "0.momentum";
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.load_state(bad); }, {"Adam::load_state", "unknown slot", "0.momentum"}));
  bad = good;
  bad.tensors[0].first = "7.exp_avg";
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.load_state(bad); }, {"7.exp_avg", "1 parameters"}));
  bad = good;
  bad.tensors[0].first = "x.exp_avg";
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.load_state(bad); }, {"x.exp_avg"}));
  bad = good;
  bad.lr.push_back(0.1);
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.load_state(bad); }, {"2 groups", "optimizer 1"}));
  bad = good;
  bad.tensors[0].second = good.tensors[0].second.clone();
  bad.tensors[0].second.data()[1] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(throws_with<NumericError>([&] { opt.load_state(bad); }, {"Adam::load_state", "0.exp_avg", "NaN"}));
  bad = good;
  bad.tensors[1].second = good.tensors[1].second.clone();
  bad.tensors[1].second.data()[0] = -1e-3;  // exp_avg_sq: an average of squares
  EXPECT_TRUE(throws_with<NumericError>([&] { opt.load_state(bad); }, {"0.exp_avg_sq", "negative second moment"}));
  bad = good;
  bad.counters[0].first = "0.epoch";
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.load_state(bad); }, {"unknown counter", "0.epoch"}));
  // A failed load changed nothing.
  auto after = opt.state();
  EXPECT_TRUE(tensors_near(after.tensors[0].second, good.tensors[0].second, 0, 0));
  EXPECT_EQ(after.counters, good.counters);
  optim::SGD<double> sgd({p}, {.momentum = 0.9});
  EXPECT_TRUE(throws_with<ValueError>([&] { sgd.load_state(good); }, {"SGD::load_state", "unknown slot"}));
}

TEST(Optimizer, SkipsParametersWithoutGradientAndZeroGradDropsThem) {
  Var<double> used = param({1});
  Var<double> unused = param({5});
  optim::Adam<double> opt({used, unused}, {.lr = 0.1});
  set_grad(used, {1});
  opt.step();
  EXPECT_EQ(unused.value().item(), 5.0);
  EXPECT_NE(used.value().item(), 1.0);
  auto s = opt.state();
  EXPECT_EQ(s.counters, (std::vector<std::pair<std::string, std::int64_t>>{{"0.step", 1}}));
  opt.zero_grad();
  EXPECT_FALSE(used.has_grad());
}

TEST(Optimizer, NoAllocationAfterTheFirstStep) {
  ThreadScope threads(2);
  Var<float> p(random_tensor<float>({300, 400}, 4), true);  // 120k elements: the parallel path
  p.node()->grad = random_tensor<float>({300, 400}, 5);
  auto count = [] {
    AllocatorStats s = CachingAllocator::instance().stats();
    return s.system_allocations + s.cache_hits;
  };
  optim::SGD<float> sgd({p}, {.lr = 0.1f, .momentum = 0.9});
  optim::Adam<float> adam({p}, {});
  optim::LARS<float> lars({p}, {});
  for (optim::Optimizer<float>* opt : std::vector<optim::Optimizer<float>*>{&sgd, &adam, &lars}) {
    opt->step();
    auto before = count();
    opt->step();
    opt->step();
    EXPECT_EQ(count(), before) << opt->name();
  }
}

TEST(Optimizer, ThreadCountDoesNotChangeElementwiseUpdates) {
  auto once = [](int threads) {
    ThreadScope scope(threads);
    Var<double> p(random_tensor<double>({100000}, 6), true);
    optim::AdamW<double> opt({p}, {.lr = 0.01});
    for (int s = 0; s < 3; ++s) {
      p.node()->grad = random_tensor<double>({100000}, 7 + static_cast<std::uint64_t>(s));
      opt.step();
    }
    return p.value();
  };
  EXPECT_TRUE(tensors_near(once(1), once(2), 0, 0));
}

TEST(Optimizer, BadOptionsAndParametersThrow) {
  Var<double> p = param({1});
  using V = std::vector<Var<double>>;
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::SGD<double>(V{p}, {.lr = -1}); }, {"SGD", "lr -1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::SGD<double>(V{p}, {.nesterov = true}); }, {"SGD", "nesterov", "momentum 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::SGD<double>(V{p}, {.momentum = 0.9, .dampening = 2}); }, {"dampening 2"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::Adam<double>(V{p}, {.beta1 = 1}); }, {"Adam", "beta1 1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::AdamW<double>(V{p}, {.eps = -1}); }, {"AdamW", "eps -1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::LARS<double>(V{p}, {.eta = 0}); }, {"LARS", "eta 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::LARS<double>(V{p}, {.momentum = 1}); }, {"LARS", "momentum 1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::SGD<double>(V{p, p}, {}); }, {"SGD", "parameter 1", "more than one place"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::SGD<double>(V{p * 2.0}, {}); }, {"SGD", "not a leaf", "scale"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { optim::SGD<double>(V{Var<double>()}, {}); }, {"SGD", "undefined"}));
  optim::SGD<double> opt(V{p}, {});
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.set_lr(0, -0.1); }, {"SGD::set_lr", "-0.1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.set_lr(1, 0.1); }, {"SGD::set_lr", "group 1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { opt.add_param_group({{param({2})}, {.momentum = -1}}); }, {"momentum -1"}));
  EXPECT_EQ(opt.num_groups(), 1u);
  opt.add_param_group({{param({2})}, {.lr = 0.5}});
  EXPECT_EQ(opt.num_groups(), 2u);
  EXPECT_EQ(opt.lr(1), 0.5);
  static_assert(!std::is_copy_constructible_v<optim::SGD<double>>);
  static_assert(!std::is_copy_assignable_v<optim::Optimizer<double>>);
}

}  // namespace
}  // namespace simile
