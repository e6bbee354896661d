// Projection and prediction heads: the names and shapes nn.Sequential(Linear, BatchNorm1d, ReLU, Linear) gives
// in PyTorch, parameter counts printed by /usr/bin/python3 (torch 1.13) for the default sizes, forward against
// the ops written out, gradcheck in double in training mode, eval mode, clone, errors.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "simile/heads.hpp"
#include "simile/ops.hpp"
#include "support/names.hpp"
#include "support/testing.hpp"

namespace {
using namespace simile;
using namespace simile::testing;

/// W_3 relu(BN(W_0 x + b_0)) + b_3 with the ops, from the head's own parameters; `bn` false: no BN, second
/// Linear at index 2.
template <class Head>
Var<double> two_layer_by_ops(const Head& head, const Var<double>& x, bool bn, bool training) {
  auto lin = [&](const Var<double>& y, const std::string& k) {
    return add(matmul(y, head.parameter(k + ".weight"), false, true), head.parameter(k + ".bias"));
  };
  Var<double> y = lin(x, "0");
  if (bn)
    y = batch_norm(y, head.parameter("1.weight"), head.parameter("1.bias"), head.buffer("1.running_mean").clone(),
                   head.buffer("1.running_var").clone(), {.training = training, .momentum = 0.1, .eps = 1e-5});
  return lin(relu(y), bn ? "3" : "2");
}

TEST(ProjectionHead, NamesAreSequentials) {
  Rng rng(1);
  heads::ProjectionHead<float> head({.in_features = 6, .hidden_features = 10, .out_features = 3, .batch_norm = true},
                                    rng);
  EXPECT_TRUE(names_are(head.named_parameters(),
                        {{"0.weight", Shape{10, 6}}, {"0.bias", Shape{10}}, {"1.weight", Shape{10}},
                         {"1.bias", Shape{10}}, {"3.weight", Shape{3, 10}}, {"3.bias", Shape{3}}}));
  EXPECT_TRUE(names_are(head.named_buffers(), {{"1.running_mean", Shape{10}},
                                               {"1.running_var", Shape{10}},
                                               {"1.num_batches_tracked", Shape{}}}));
  EXPECT_EQ(head.child("1")->type_name(), "BatchNorm1d");
  EXPECT_EQ(head.child("2")->type_name(), "ReLU");
  EXPECT_EQ(head.output_dim(), 3);
  EXPECT_EQ(head.input_dim(), 6);

  // MoCo v2's head: nn.Sequential(Linear, ReLU, Linear).
  heads::ProjectionHead<float> moco({.in_features = 6, .hidden_features = 10, .out_features = 3, .batch_norm = false},
                                    rng);
  EXPECT_TRUE(names_are(moco.named_parameters(), {{"0.weight", Shape{10, 6}}, {"0.bias", Shape{10}},
                                                   {"2.weight", Shape{3, 10}}, {"2.bias", Shape{3}}}));
  EXPECT_TRUE(moco.named_buffers().empty());

  // Defaults 512 -> 2048 -> 128: sum(p.numel()) of the same nn.Sequential in PyTorch.
  heads::ProjectionHead<float> simclr(heads::ProjectionHeadOptions{}, rng);
  EXPECT_EQ(simclr.num_parameters(), 1316992);
}

TEST(PredictionHead, NamesAndDefaultSizeAreByols) {
  Rng rng(2);
  heads::PredictionHead<float> head({.in_features = 4, .hidden_features = 7, .out_features = 5}, rng);
  EXPECT_TRUE(names_are(head.named_parameters(),
                        {{"0.weight", Shape{7, 4}}, {"0.bias", Shape{7}}, {"1.weight", Shape{7}}, {"1.bias", Shape{7}},
                         {"3.weight", Shape{5, 7}}, {"3.bias", Shape{5}}}));
  EXPECT_EQ(head.named_buffers().size(), 3u);
  heads::PredictionHead<float> byol(heads::PredictionHeadOptions{}, rng);  // 256 -> 4096 -> 256
  EXPECT_EQ(byol.num_parameters(), 2109696);
  EXPECT_EQ(byol.forward(Var<float>(random_tensor<float>({3, 256}, 3))).shape(), (Shape{3, 256}));
}

TEST(ProjectionHead, ForwardGradcheckAndEvalMode) {
  Rng rng(3);
  for (bool bn : {true, false}) {
    heads::ProjectionHead<double> head({.in_features = 4, .hidden_features = 6, .out_features = 3, .batch_norm = bn},
                                       rng);
    Var<double> x = random_param({5, 4}, 4);
    Var<double> expected = two_layer_by_ops(head, x, bn, true);
    Var<double> z = head.forward(x);
    EXPECT_EQ(z.shape(), (Shape{5, 3}));
    EXPECT_TRUE(tensors_near(z.value(), expected.value(), 1e-12, 1e-10)) << "batch_norm " << bn;
    std::vector<Var<double>> inputs{x};
    for (const Var<double>& p : head.parameters()) inputs.push_back(p);
    EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>& in) { return head.forward(in[0]); }, inputs))
        << "batch_norm " << bn;
    head.eval();
    EXPECT_TRUE(tensors_near(head.forward(x).value(), two_layer_by_ops(head, x, bn, false).value(), 1e-12, 1e-10));
    // A single row is fine in eval mode (running statistics).
    EXPECT_EQ(head.forward(Var<double>(random_tensor<double>({1, 4}, 5))).shape(), (Shape{1, 3}));
  }
}

TEST(PredictionHead, GradcheckAndClone) {
  Rng rng(4);
  heads::PredictionHead<double> head({.in_features = 3, .hidden_features = 5, .out_features = 3}, rng);
  Var<double> x = random_param({4, 3}, 6);
  EXPECT_TRUE(tensors_near(head.forward(x).value(), two_layer_by_ops(head, x, true, true).value(), 1e-12, 1e-10));
  std::vector<Var<double>> inputs{x};
  for (const Var<double>& p : head.parameters()) inputs.push_back(p);
  EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>& in) { return head.forward(in[0]); }, inputs));

  std::shared_ptr<heads::PredictionHead<double>> copy = head.clone();
  EXPECT_EQ(copy->options().hidden_features, 5);
  auto a = head.state_dict(), b = copy->state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_NE(a[i].second.data(), b[i].second.data()) << a[i].first;
    EXPECT_TRUE(tensors_near(a[i].second, b[i].second, 0, 0)) << a[i].first;
  }
}

TEST(Heads, Errors) {
  Rng rng(5);
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { heads::ProjectionHead<float>({.in_features = 4, .hidden_features = 0, .out_features = 2}, rng); },
      {"ProjectionHead", "size 1 is 0"}));
  EXPECT_TRUE(throws_with<ValueError>(
      [&] { heads::PredictionHead<float>({.in_features = -1, .hidden_features = 3, .out_features = 2}, rng); },
      {"PredictionHead", "size 0 is -1"}));
  heads::ProjectionHead<float> head({.in_features = 4, .hidden_features = 3, .out_features = 2}, rng);
  EXPECT_TRUE(throws_with<ShapeError>([&] { head.forward(Var<float>(Tensor<float>::zeros({3, 5}))); },
                                      {"ProjectionHead", "[3, 5]", "[N, 4]"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { head.forward(Var<float>(Tensor<float>::zeros({3, 4, 1}))); },
                                      {"ProjectionHead", "[N, 4]"}));
  // One row in training mode: BatchNorm1d needs more than one value per channel.
  EXPECT_TRUE(throws_with<ValueError>([&] { head.forward(Var<float>(Tensor<float>::zeros({1, 4}))); },
                                      {"batch_norm", "more than 1 value per channel"}));
}

}  // namespace
