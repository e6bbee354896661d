#include "simile/nn/batch_norm.hpp"

#include <cmath>

#include "simile/nn.hpp"
#include "simile/nn/activation.hpp"
#include "simile/nn/linear.hpp"
#include "simile/nn/sequential.hpp"
#include "support/names.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::keys;
using testing::random_param;
using testing::random_tensor;
using testing::tensors_near;
using testing::throws_with;
using V = std::vector<Var<double>>;

TEST(BatchNorm, PyTorchNamesInANestedSequential) {
  Rng rng(1);
  auto block = std::make_shared<nn::Sequential<float>>(std::initializer_list<std::shared_ptr<nn::Module<float>>>{
      std::make_shared<nn::Linear<float>>(nn::LinearOptions{4, 3, false}, rng),
      std::make_shared<nn::BatchNorm1d<float>>(nn::BatchNormOptions{.num_features = 3}),
      std::make_shared<nn::ReLU<float>>()});
  nn::Sequential<float> net{block, std::make_shared<nn::Linear<float>>(nn::LinearOptions{3, 2}, rng)};
  EXPECT_EQ(keys(net.named_parameters()),
            (std::vector<std::string>{"0.0.weight", "0.1.weight", "0.1.bias", "1.weight", "1.bias"}));
  EXPECT_EQ(keys(net.named_buffers()),
            (std::vector<std::string>{"0.1.running_mean", "0.1.running_var", "0.1.num_batches_tracked"}));
  EXPECT_EQ(keys(net.state_dict()),
            (std::vector<std::string>{"0.0.weight", "0.1.weight", "0.1.bias", "0.1.running_mean", "0.1.running_var",
                                      "0.1.num_batches_tracked", "1.weight", "1.bias"}));
  EXPECT_EQ(net.buffer("0.1.num_batches_tracked").shape(), Shape{});
  EXPECT_TRUE(tensors_near(net.buffer("0.1.running_var"), Tensor<float>::ones({3})));
  EXPECT_TRUE(tensors_near(net.parameter("0.1.weight").value(), Tensor<float>::ones({3})));
  EXPECT_TRUE(tensors_near(net.parameter("0.1.bias").value(), Tensor<float>::zeros({3})));
}

TEST(BatchNorm1d, TrainingModeByHand) {
  // Channel 0: 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3); channel 1: 0, 0, 2, 2 (mean 1, var 1, 4/3).
  nn::BatchNorm1d<double> bn(nn::BatchNormOptions{.num_features = 2});
  Tensor<double>::from({2, 1}, {2}).copy_to(bn.weight().value());
  Tensor<double>::from({0, 5}, {2}).copy_to(bn.bias().value());
  Var<double> x(Tensor<double>::from({1, 0, 2, 0, 3, 2, 4, 2}, {4, 2}));
  Tensor<double> y = bn(x).value();
  const double s0 = std::sqrt(1.25 + 1e-5), s1 = std::sqrt(1 + 1e-5);
  EXPECT_TRUE(tensors_near(y, Tensor<double>::from({2 * -1.5 / s0, 5 - 1 / s1, 2 * -0.5 / s0, 5 - 1 / s1,
                                                     2 * 0.5 / s0, 5 + 1 / s1, 2 * 1.5 / s0, 5 + 1 / s1},
                                                    {4, 2}),
                           1e-12));
  EXPECT_TRUE(tensors_near(bn.running_mean(), Tensor<double>::from({0.25, 0.1}, {2}), 1e-15));
  EXPECT_TRUE(tensors_near(bn.running_var(), Tensor<double>::from({0.9 + 0.1 * 5 / 3, 0.9 + 0.1 * 4 / 3}, {2}), 1e-15));
  EXPECT_EQ(bn.num_batches_tracked().item(), 1.0);
  bn(x);
  EXPECT_EQ(bn.num_batches_tracked().item(), 2.0);
  EXPECT_TRUE(tensors_near(bn.running_mean(), Tensor<double>::from({0.25 * 0.9 + 0.25, 0.1 * 0.9 + 0.1}, {2}), 1e-15));
}

TEST(BatchNorm1d, EvalModeUsesRunningStatisticsAndLeavesThem) {
  nn::BatchNorm1d<double> bn(nn::BatchNormOptions{.num_features = 2, .eps = 1e-3});
  Tensor<double>::from({1, -1}, {2}).copy_to(bn.running_mean());
  Tensor<double>::from({4, 0.25}, {2}).copy_to(bn.running_var());
  Tensor<double>::from({3, 1}, {2}).copy_to(bn.weight().value());
  Tensor<double>::from({0.5, 0}, {2}).copy_to(bn.bias().value());
  bn.eval();
  Var<double> x(Tensor<double>::from({1, -1, 3, 0}, {2, 2}));
  Tensor<double> y = bn(x).value();
  EXPECT_TRUE(tensors_near(y, Tensor<double>::from({0.5, 0, 3 * 2 / std::sqrt(4.001) + 0.5, 1 / std::sqrt(0.251)}, {2, 2}),
                           1e-12));
  EXPECT_TRUE(tensors_near(bn.running_mean(), Tensor<double>::from({1, -1}, {2}), 0, 0));
  EXPECT_EQ(bn.num_batches_tracked().item(), 0.0);
  // One sample is fine in eval mode (no batch statistics).
  EXPECT_EQ(bn(Var<double>(Tensor<double>::zeros({1, 2}))).shape(), (Shape{1, 2}));
}

TEST(BatchNorm1d, GradcheckBothModes) {
  nn::BatchNorm1d<double> bn(nn::BatchNormOptions{.num_features = 3});
  random_tensor<double>({3}, 2, 0.5, 2).copy_to(bn.weight().value());
  random_tensor<double>({3}, 3).copy_to(bn.bias().value());
  for (Shape s : {Shape{7, 3}, Shape{2, 3, 5}}) {
    SCOPED_TRACE(s.to_string());
    bn.train();
    EXPECT_TRUE(grad_ok([&](const V& in) { return bn(in[0]); }, {random_param(s, 4), bn.weight(), bn.bias()}));
    EXPECT_TRUE(grad_ok([&](const V& in) { return bn.forward_relu(in[0]); }, {random_param(s, 5), bn.weight(), bn.bias()}));
    bn.eval();
    EXPECT_TRUE(grad_ok([&](const V& in) { return bn(in[0]); }, {random_param(s, 6), bn.weight(), bn.bias()}));
  }
}

TEST(BatchNorm2d, MatchesPerChannelStatisticsAndGradchecks) {
  nn::BatchNorm2d<double> bn(nn::BatchNormOptions{.num_features = 3, .momentum = 0.5});
  Tensor<double> x = random_tensor<double>({2, 3, 4, 5}, 7, -2, 3);
  Tensor<double> y = bn(Var<double>(x)).value();
  for (Index c = 0; c < 3; ++c) {
    double sum = 0, sq = 0;
    for (Index n = 0; n < 2; ++n)
      for (Index h = 0; h < 4; ++h)
        for (Index w = 0; w < 5; ++w) sum += x.at(n, c, h, w);
    double mean = sum / 40;
    for (Index n = 0; n < 2; ++n)
      for (Index h = 0; h < 4; ++h)
        for (Index w = 0; w < 5; ++w) sq += (x.at(n, c, h, w) - mean) * (x.at(n, c, h, w) - mean);
    double var = sq / 40;
    for (Index n = 0; n < 2; ++n)
      for (Index h = 0; h < 4; ++h)
        for (Index w = 0; w < 5; ++w)
          EXPECT_NEAR(y.at(n, c, h, w), (x.at(n, c, h, w) - mean) / std::sqrt(var + 1e-5), 1e-12);
    EXPECT_NEAR(bn.running_mean().at(c), 0.5 * mean, 1e-14);
    EXPECT_NEAR(bn.running_var().at(c), 0.5 + 0.5 * sq / 39, 1e-14);
  }
  EXPECT_TRUE(grad_ok([&](const V& in) { return bn(in[0]); }, {random_param({2, 3, 3, 3}, 8), bn.weight(), bn.bias()}));
  bn.eval();
  EXPECT_TRUE(grad_ok([&](const V& in) { return bn(in[0]); }, {random_param({2, 3, 3, 3}, 9), bn.weight(), bn.bias()}));
  // The fused ReLU form gives relu of the plain form.
  bn.train();
  Var<double> xv(random_tensor<double>({2, 3, 2, 2}, 10));
  Tensor<double> plain = relu(bn(xv)).value(), fused = bn.forward_relu(xv).value();
  EXPECT_TRUE(tensors_near(fused, plain, 1e-12));
}

TEST(BatchNorm, WithoutAffineOrRunningStatistics) {
  nn::BatchNorm1d<double> plain(nn::BatchNormOptions{.num_features = 2, .affine = false});
  EXPECT_TRUE(plain.parameters().empty());
  EXPECT_EQ(plain.named_buffers().size(), 3u);
  EXPECT_TRUE(throws_with<ValueError>([&] { plain.weight(); }, {"BatchNorm1d::weight", "affine = false"}));
  Var<double> x = random_param({5, 2}, 11);
  Tensor<double> y = plain(x).value();
  for (Index c = 0; c < 2; ++c) {  // zero mean per channel
    double m = 0;
    for (Index n = 0; n < 5; ++n) m += y.at(n, c);
    EXPECT_NEAR(m, 0, 1e-12);
  }
  EXPECT_TRUE(grad_ok([&](const V& in) { return plain(in[0]); }, {x}));

  nn::BatchNorm2d<double> untracked(nn::BatchNormOptions{.num_features = 2, .track_running_stats = false});
  EXPECT_TRUE(untracked.named_buffers().empty());
  EXPECT_TRUE(throws_with<ValueError>([&] { untracked.running_mean(); }, {"running_mean", "track_running_stats = false"}));
  // Eval mode still normalizes by the batch statistics.
  Var<double> x4(random_tensor<double>({2, 2, 3, 3}, 12));
  Tensor<double> train_y = untracked(x4).value();
  untracked.eval();
  EXPECT_TRUE(tensors_near(untracked(x4).value(), train_y, 0, 0));
}

TEST(BatchNorm, CloneHasItsOwnBuffers) {
  nn::BatchNorm1d<double> bn(nn::BatchNormOptions{.num_features = 2});
  auto copy = bn.clone();
  (*copy)(Var<double>(Tensor<double>::from({1, 2, 3, 4}, {2, 2})));
  EXPECT_EQ(copy->num_batches_tracked().item(), 1.0);
  EXPECT_EQ(bn.num_batches_tracked().item(), 0.0);
  EXPECT_TRUE(tensors_near(bn.running_mean(), Tensor<double>::zeros({2}), 0, 0));
  EXPECT_TRUE(tensors_near(copy->running_mean(), Tensor<double>::from({0.2, 0.3}, {2}), 1e-15));
  EXPECT_FALSE(copy->running_var().shares_storage(bn.running_var()));
}

TEST(BatchNorm, Errors) {
  EXPECT_TRUE(throws_with<ValueError>([] { nn::BatchNorm1d<float>(nn::BatchNormOptions{}); }, {"BatchNorm1d", "num_features 0"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::BatchNorm2d<float>(nn::BatchNormOptions{.num_features = 2, .eps = 0}); },
                                      {"BatchNorm2d", "eps 0"}));
  EXPECT_TRUE(throws_with<ValueError>([] { nn::BatchNorm2d<float>(nn::BatchNormOptions{.num_features = 2, .momentum = 1.5}); },
                                      {"BatchNorm2d", "momentum 1.5"}));
  nn::BatchNorm1d<double> bn1(nn::BatchNormOptions{.num_features = 3});
  EXPECT_TRUE(throws_with<ShapeError>([&] { bn1(Var<double>(Tensor<double>::zeros({4, 2}))); },
                                      {"BatchNorm1d", "[4, 2]", "C = 3"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { bn1(Var<double>(Tensor<double>::zeros({4, 3, 2, 2}))); },
                                      {"BatchNorm1d", "[4, 3, 2, 2]", "[N, C] or [N, C, L]"}));
  nn::BatchNorm2d<double> bn2(nn::BatchNormOptions{.num_features = 3});
  EXPECT_TRUE(throws_with<ShapeError>([&] { bn2(Var<double>(Tensor<double>::zeros({4, 3}))); },
                                      {"BatchNorm2d", "[4, 3]", "[N, C, H, W]"}));
  // A single value per channel cannot give batch statistics (the op's check).
  EXPECT_TRUE(throws_with<ValueError>([&] { bn1(Var<double>(Tensor<double>::zeros({1, 3}))); }, {"batch_norm"}));
}

}  // namespace
}  // namespace simile
