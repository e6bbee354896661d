#include "simile/nn.hpp"
#include "support/names.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::keys;
using testing::tensors_near;
using testing::throws_with;

/// A module with its own parameter, a buffer and a child, as an encoder block would be.
template <Real T>
class Block : public nn::Cloneable<Block<T>, T> {
 public:
  explicit Block(Rng& rng) {
    scale_ = this->register_parameter("scale", Tensor<T>::full({3}, T(2)));
    calls_ = this->register_buffer("calls", Tensor<T>::zeros({}));
    fc_ = this->register_module("fc", std::make_shared<nn::Linear<T>>(nn::LinearOptions{3, 3}, rng));
  }
  Var<T> forward(const Var<T>& x) override {
    this->get(calls_).data()[0] += 1;
    return mul(this->get(fc_).forward(x), this->get(scale_));
  }
  std::string type_name() const override { return "Block"; }
  nn::Linear<T>& fc() const { return this->get(fc_); }

  /// Registration errors are the module's own to trigger.
  void register_again(const std::string& name) { this->register_buffer(name, Tensor<T>::zeros({1})); }

 private:
  nn::ParameterId scale_;
  nn::BufferId calls_;
  nn::ChildId<nn::Linear<T>> fc_;
};

std::shared_ptr<nn::Sequential<double>> small_net(Rng& rng) {
  auto inner = std::make_shared<nn::Sequential<double>>(std::initializer_list<std::shared_ptr<nn::Module<double>>>{
      std::make_shared<Block<double>>(rng), std::make_shared<nn::Tanh<double>>()});
  return std::make_shared<nn::Sequential<double>>(std::initializer_list<std::shared_ptr<nn::Module<double>>>{
      std::make_shared<nn::Linear<double>>(nn::LinearOptions{4, 3}, rng), std::make_shared<nn::ReLU<double>>(),
      inner, std::make_shared<nn::Linear<double>>(nn::LinearOptions{3, 2, false}, rng)});
}

TEST(Module, NamesAreStableDottedPathsInRegistrationOrder) {
  Rng rng(1);
  auto net = small_net(rng);
  EXPECT_EQ(keys(net->named_parameters()),
            (std::vector<std::string>{"0.weight", "0.bias", "2.0.scale", "2.0.fc.weight", "2.0.fc.bias", "3.weight"}));
  EXPECT_EQ(keys(net->named_buffers()), (std::vector<std::string>{"2.0.calls"}));
  EXPECT_EQ(keys(net->state_dict()), (std::vector<std::string>{"0.weight", "0.bias", "2.0.scale", "2.0.calls",
                                                               "2.0.fc.weight", "2.0.fc.bias", "3.weight"}));
  EXPECT_EQ(net->parameters().size(), 6u);
  EXPECT_EQ(net->num_parameters(), 12 + 3 + 3 + 9 + 3 + 6);
  EXPECT_EQ(net->parameter("2.0.fc.weight").shape(), (Shape{3, 3}));
  EXPECT_EQ(net->parameter("3.weight").shape(), (Shape{2, 3}));
  EXPECT_EQ(net->buffer("2.0.calls").shape(), Shape{});
  EXPECT_EQ(net->child("2.0")->type_name(), "Block");
  for (auto& p : net->parameters()) EXPECT_TRUE(p.requires_grad());
  // The same construction from the same seed gives the same values; names never depend on the values.
  Rng rng2(1);
  auto twin = small_net(rng2);
  auto a = net->state_dict(), b = twin->state_dict();
  ASSERT_EQ(keys(a), keys(b));
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(tensors_near(a[i].second, b[i].second, 0, 0)) << a[i].first;
}

TEST(Module, LookupAndRegistrationErrorsNameTheCulprit) {
  Rng rng(2);
  auto net = small_net(rng);
  EXPECT_TRUE(throws_with<ValueError>([&] { net->parameter("2.0.fc.gamma"); }, {"Module::parameter", "2.0.fc.gamma"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { net->parameter("7.weight"); }, {"no child", "\"7\"", "Sequential"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { net->buffer("2.0.scale"); }, {"Module::buffer", "2.0.scale"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { net->child("2.5"); }, {"Module::child", "\"5\""}));
  Block<double> b(rng);
  EXPECT_TRUE(throws_with<ValueError>([&] { b.register_again("scale"); }, {"register_buffer", "scale", "already"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { b.register_again("a.b"); }, {"register_buffer", "a.b", "'.'"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { b.register_again(""); }, {"register_buffer", "non-empty"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { (*net)[4]; }, {"Sequential", "index 4", "4 modules"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { net->push_back(nullptr); }, {"Sequential::push_back", "position 4"}));
}

TEST(Module, CloneIsDeepForParametersBuffersAndChildren) {
  Rng rng(3);
  auto net = small_net(rng);
  auto copy = net->clone();
  static_assert(std::is_same_v<decltype(copy), std::shared_ptr<nn::Sequential<double>>>);
  auto a = net->state_dict(), b = copy->state_dict();
  ASSERT_EQ(keys(a), keys(b));
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(tensors_near(a[i].second, b[i].second, 0, 0)) << a[i].first;
    EXPECT_FALSE(a[i].second.shares_storage(b[i].second)) << a[i].first;
  }
  EXPECT_NE(net->child("2.0").get(), copy->child("2.0").get());
  EXPECT_EQ(copy->child("2.0")->type_name(), "Block");

  // Same function before any change.
  Var<double> x(testing::random_tensor<double>({5, 4}, 4));
  EXPECT_TRUE(tensors_near(net->forward(x).value(), copy->forward(x).value(), 0, 0));
  // Writing into the clone's weights and buffers leaves the original as it was.
  Tensor<double> before = net->parameter("0.weight").value().clone();
  copy->parameter("0.weight").value().fill(7.0);
  EXPECT_TRUE(tensors_near(net->parameter("0.weight").value(), before, 0, 0));
  EXPECT_EQ(net->buffer("2.0.calls").item(), 1.0);
  copy->forward(x);
  EXPECT_EQ(copy->buffer("2.0.calls").item(), 2.0);
  EXPECT_EQ(net->buffer("2.0.calls").item(), 1.0);
  // Training a clone does not touch the original's gradients either.
  sum(copy->forward(x)).backward();
  EXPECT_TRUE(copy->parameter("0.weight").has_grad());
  EXPECT_FALSE(net->parameter("0.weight").has_grad());
}

TEST(Module, CopyingAHandleShares) {
  Rng rng(4);
  nn::Linear<double> a(nn::LinearOptions{2, 2}, rng);
  nn::Linear<double> b = a;
  EXPECT_TRUE(a.weight().value().shares_storage(b.weight().value()));
  auto c = a.clone();
  EXPECT_FALSE(a.weight().value().shares_storage(c->weight().value()));
}

/// Two children holding the same Linear: a tied pair.
template <Real T>
class Tied : public nn::Cloneable<Tied<T>, T> {
 public:
  explicit Tied(Rng& rng) {
    auto fc = std::make_shared<nn::Linear<T>>(nn::LinearOptions{2, 2}, rng);
    a_ = this->register_module("a", fc);
    b_ = this->register_module("b", fc);
  }
  Var<T> forward(const Var<T>& x) override { return this->get(b_).forward(this->get(a_).forward(x)); }
  std::string type_name() const override { return "Tied"; }

 private:
  nn::ChildId<nn::Linear<T>> a_, b_;
};

TEST(Module, TiedParametersAreListedOnceAndStayTiedInAClone) {
  Rng rng(5);
  Tied<double> t(rng);
  EXPECT_EQ(keys(t.named_parameters()), (std::vector<std::string>{"a.weight", "a.bias"}));
  EXPECT_EQ(keys(t.state_dict()), (std::vector<std::string>{"a.weight", "a.bias", "b.weight", "b.bias"}));
  auto c = t.clone();
  EXPECT_EQ(c->parameter("a.weight").node(), c->parameter("b.weight").node());
  EXPECT_NE(c->parameter("a.weight").node(), t.parameter("a.weight").node());
}

TEST(Module, TrainEvalAndFreezingAreRecursive) {
  Rng rng(6);
  auto net = small_net(rng);
  EXPECT_TRUE(net->is_training());
  net->eval();
  EXPECT_FALSE(net->is_training());
  EXPECT_FALSE(net->child("2.0.fc")->is_training());
  net->child("2")->train();
  EXPECT_FALSE(net->is_training());
  EXPECT_TRUE(net->child("2.1")->is_training());
  net->train();

  // Freeze the inner block: only the outer layers accumulate gradients; the input still gets one.
  net->child("2")->requires_grad(false);
  Var<double> x(testing::random_tensor<double>({3, 4}, 7), true);
  sum(net->forward(x)).backward();
  for (auto& [name, p] : net->named_parameters()) {
    bool inner = name.starts_with("2.");
    EXPECT_EQ(p.requires_grad(), !inner) << name;
    EXPECT_EQ(p.has_grad(), !inner) << name;
  }
  EXPECT_TRUE(x.has_grad());
  // A fully frozen network records no graph at all.
  net->requires_grad(false);
  net->zero_grad();
  Var<double> y = net->forward(Var<double>(testing::random_tensor<double>({3, 4}, 8)));
  EXPECT_FALSE(y.requires_grad());
  for (auto& p : net->parameters()) EXPECT_FALSE(p.has_grad());
}

TEST(Module, ZeroGradDropsEveryGradient) {
  Rng rng(7);
  auto net = small_net(rng);
  sum(net->forward(Var<double>(testing::random_tensor<double>({2, 4}, 9)))).backward();
  for (auto& p : net->parameters()) EXPECT_TRUE(p.has_grad());
  net->zero_grad();
  for (auto& p : net->parameters()) EXPECT_FALSE(p.has_grad());
}

TEST(Module, StateDictRoundTripAndErrors) {
  Rng rng(8);
  auto net = small_net(rng);
  Rng other(99);
  auto dst = small_net(other);
  // Snapshot, then load into a differently initialized twin: same values, own storage kept.
  nn::NamedTensors<double> snap;
  for (auto& [name, t] : net->state_dict()) snap.emplace_back(name, t.clone());
  Tensor<double> dst_w = dst->parameter("0.weight").value();
  dst->load_state_dict(snap);
  EXPECT_TRUE(dst_w.shares_storage(dst->parameter("0.weight").value()));
  auto a = net->state_dict(), b = dst->state_dict();
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(tensors_near(a[i].second, b[i].second, 0, 0)) << a[i].first;

  auto missing = snap;
  missing.erase(missing.begin() + 3);
  EXPECT_TRUE(throws_with<ValueError>([&] { dst->load_state_dict(missing); }, {"load_state_dict", "missing", "2.0.calls"}));
  auto extra = snap;
  extra.emplace_back("head.weight", Tensor<double>::zeros({1}));
  EXPECT_TRUE(throws_with<ValueError>([&] { dst->load_state_dict(extra); }, {"unexpected", "head.weight"}));
  EXPECT_NO_THROW(dst->load_state_dict(extra, false));
  auto wrong = snap;
  wrong[0].second = Tensor<double>::zeros({4, 3});
  EXPECT_TRUE(throws_with<ShapeError>([&] { dst->load_state_dict(wrong); }, {"0.weight", "[4, 3]", "[3, 4]"}));
  auto twice = snap;
  twice.push_back(snap[0]);
  EXPECT_TRUE(throws_with<ValueError>([&] { dst->load_state_dict(twice); }, {"0.weight", "twice"}));
}

TEST(Module, CopyStateFromMakesATargetNetworkEqual) {
  Rng rng(10);
  auto online = small_net(rng);
  Rng rng2(11);
  auto target = small_net(rng2);
  target->copy_state_from(*online);
  Var<double> x(testing::random_tensor<double>({2, 4}, 12));
  EXPECT_TRUE(tensors_near(online->forward(x).value(), target->forward(x).value(), 0, 0));
  EXPECT_FALSE(online->parameter("3.weight").value().shares_storage(target->parameter("3.weight").value()));
  Rng rng3(13);
  nn::Sequential<double> other{std::make_shared<nn::Linear<double>>(nn::LinearOptions{4, 3}, rng3)};
  EXPECT_TRUE(throws_with<ValueError>([&] { other.copy_state_from(*online); }, {"copy_state_from", "7 tensors", "2"}));
  nn::Sequential<double> shaped{std::make_shared<nn::Linear<double>>(nn::LinearOptions{5, 3}, rng3)};
  nn::Sequential<double> base{std::make_shared<nn::Linear<double>>(nn::LinearOptions{4, 3}, rng3)};
  EXPECT_TRUE(throws_with<ShapeError>([&] { shaped.copy_state_from(base); }, {"0.weight", "[3, 4]", "[3, 5]"}));
}

TEST(Module, PrintsLikePyTorch) {
  Rng rng(14);
  nn::Sequential<float> net{std::make_shared<nn::Linear<float>>(nn::LinearOptions{4, 8}, rng),
                            std::make_shared<nn::LeakyReLU<float>>(nn::LeakyReLUOptions{0.2}),
                            std::make_shared<nn::Sequential<float>>()};
  EXPECT_EQ(net.to_string(),
            "Sequential(\n"
            "  (0): Linear(in_features=4, out_features=8, bias=true)\n"
            "  (1): LeakyReLU(negative_slope=0.2)\n"
            "  (2): Sequential()\n"
            ")");
}

}  // namespace
}  // namespace simile
