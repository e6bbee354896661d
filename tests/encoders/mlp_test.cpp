// Mlp encoder: nn.Sequential's names and shapes (the list PyTorch prints for the same layers), forward against
// the ops written out, gradcheck in double in training mode, clone, errors.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "simile/encoders/mlp.hpp"
#include "simile/ops.hpp"
#include "support/names.hpp"
#include "simile/encoders.hpp"
#include "support/testing.hpp"

namespace {
using namespace simile;
using namespace simile::testing;

// ---------------------------------------------------------------------------------------------- Mlp

TEST(Mlp, NamesAreSequentials) {
  Rng rng(12);
  encoders::Mlp<float> mlp({.sizes = {4, 8, 6, 2}, .batch_norm = true}, rng);
  // nn.Sequential(Linear(4, 8), BatchNorm1d(8), ReLU(), Linear(8, 6), BatchNorm1d(6), ReLU(), Linear(6, 2))
  EXPECT_TRUE(names_are(mlp.named_parameters(),
                        {{"0.weight", Shape{8, 4}}, {"0.bias", Shape{8}}, {"1.weight", Shape{8}}, {"1.bias", Shape{8}},
                         {"3.weight", Shape{6, 8}}, {"3.bias", Shape{6}}, {"4.weight", Shape{6}}, {"4.bias", Shape{6}},
                         {"6.weight", Shape{2, 6}}, {"6.bias", Shape{2}}}));
  EXPECT_TRUE(names_are(mlp.named_buffers(),
                        {{"1.running_mean", Shape{8}}, {"1.running_var", Shape{8}}, {"1.num_batches_tracked", Shape{}},
                         {"4.running_mean", Shape{6}}, {"4.running_var", Shape{6}}, {"4.num_batches_tracked", Shape{}}}));
  EXPECT_EQ(mlp.child("2")->type_name(), "ReLU");
  EXPECT_EQ(mlp.input_dim(), 4);
  EXPECT_EQ(mlp.output_dim(), 2);

  encoders::Mlp<float> plain({.sizes = {3, 5, 2}, .activation = encoders::MlpActivation::gelu, .bias = false}, rng);
  EXPECT_TRUE(names_are(plain.named_parameters(), {{"0.weight", Shape{5, 3}}, {"2.weight", Shape{2, 5}}}));
  EXPECT_EQ(plain.child("1")->type_name(), "GELU");
  encoders::Mlp<float> last({.sizes = {3, 5}, .batch_norm = true, .activate_last = true}, rng);
  EXPECT_EQ(last.child("2")->type_name(), "ReLU");
  EXPECT_EQ(last.named_buffers().size(), 3u);
}

TEST(Mlp, ForwardGradcheckAndClone) {
  Rng rng(13);
  encoders::Mlp<double> mlp({.sizes = {3, 5, 4, 2}, .activation = encoders::MlpActivation::tanh, .batch_norm = true},
                            rng);
  Var<double> x = random_param({6, 3}, 20);
  Var<double> h = mlp.forward(x);
  EXPECT_EQ(h.shape(), (Shape{6, 2}));
  // By hand with the ops: tanh(BN(x W0^T + b0)), tanh(BN(. W3^T + b3)), . W6^T + b6.
  auto bn = [&](const Var<double>& y, int i) {
    std::string k = std::to_string(i);
    return batch_norm(y, mlp.parameter(k + ".weight"), mlp.parameter(k + ".bias"), Tensor<double>(),
                      Tensor<double>(), {.training = true, .momentum = 0.1, .eps = 1e-5});
  };
  auto lin = [&](const Var<double>& y, int i) {
    std::string k = std::to_string(i);
    return add(matmul(y, mlp.parameter(k + ".weight"), false, true), mlp.parameter(k + ".bias"));
  };
  Var<double> want = lin(tanh(bn(lin(tanh(bn(lin(x, 0), 1)), 3), 4)), 6);
  EXPECT_TRUE(tensors_near(h.value(), want.value(), 1e-12, 1e-10));

  std::vector<Var<double>> inputs{x};
  for (const Var<double>& q : mlp.parameters()) inputs.push_back(q);
  EXPECT_TRUE(grad_ok([&](const std::vector<Var<double>>& in) { return mlp.forward(in[0]); }, inputs));

  auto copy = mlp.clone();
  EXPECT_EQ(copy->options().sizes, mlp.options().sizes);
  copy->parameter("3.weight").value().fill(0.0);
  EXPECT_NE(mlp.parameter("3.weight").value().data()[0], 0.0);
}

TEST(Mlp, Errors) {
  Rng rng(14);
  EXPECT_TRUE(throws_with<ValueError>([&] { encoders::Mlp<float>({.sizes = {4}}, rng); },
                                      {"Mlp", "at least 2 sizes", "got 1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { encoders::Mlp<float>({.sizes = {4, 0, 2}}, rng); },
                                      {"Mlp", "size 1 is 0"}));
  encoders::Mlp<float> mlp({.sizes = {4, 2}}, rng);
  EXPECT_TRUE(throws_with<ShapeError>([&] { mlp.forward(Var<float>(Tensor<float>::zeros({3, 5}))); },
                                      {"Mlp", "[3, 5]", "[N, 4]"}));
}

}  // namespace
