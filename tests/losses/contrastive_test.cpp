#include <cmath>

#include "simile/losses.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::throws_with;
using V = std::vector<Var<double>>;

TEST(ContrastiveLoss, ThreePointsByHand) {
  // a = (0,0), b = (3,4), c = (0,0.5). Pairs: (a,b) same: d = 5 -> 12.5; (a,c) different, d = 0.5 inside
  // margin 2 -> 1.5^2 / 2; (b,c) different, d = sqrt(9 + 12.25) beyond the margin -> 0.
  Var<double> x(Tensor<double>::from({0, 0, 3, 4, 0, 0.5}, {3, 2}), true);
  PairSet pairs{{0, 1, true}, {0, 2, false}, {1, 2, false}};
  EXPECT_NEAR(contrastive_loss(x, pairs, {.margin = 2}).item(), (12.5 + 1.125 + 0) / 3, 1e-12);
  // Cosine distance: (a,b) undefined for the zero row a -> use other rows. b, c: cos = 4*0.5 / (5 * 0.5) = 0.8.
  PairSet bc{{1, 2, false}};
  EXPECT_NEAR(contrastive_loss(x, bc, {.margin = 0.5, .distance = PairDistance::cosine}).item(),
              0.5 * (0.5 - 0.2) * (0.5 - 0.2), 1e-12);
}

TEST(ContrastiveLoss, Gradcheck) {
  PairSet pairs = all_pairs(Labels{0, 1, 0, 2, 1, 0});
  for (PairDistance dist : {PairDistance::euclidean, PairDistance::cosine})
    for (double margin : {0.5, 3.0}) {
      ContrastiveOptions opt{.margin = dist == PairDistance::cosine ? margin / 3 : margin, .distance = dist};
      EXPECT_TRUE(grad_ok([&](const V& v) { return contrastive_loss(v[0], pairs, opt); }, {random_param({6, 4}, 1)}));
    }
}

TEST(ContrastiveLoss, IdenticalPositivesAndFarNegativesCostNothing) {
  Var<double> x(Tensor<double>::from({1, 1, 1, 1, 9, 9}, {3, 2}), true);
  Var<double> l = contrastive_loss(x, PairSet{{0, 1, true}, {0, 2, false}}, {.margin = 1});
  EXPECT_EQ(l.item(), 0);
  l.backward();
  EXPECT_EQ(x.grad().matrix().cwiseAbs().maxCoeff(), 0);  // no NaN from d = 0
}

TEST(ContrastiveLoss, Errors) {
  Var<float> x(Tensor<float>::ones({3, 2}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { contrastive_loss(x, PairSet{{0, 3, true}}); },
                                      {"contrastive_loss", "(0, 3)", "3 rows"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { contrastive_loss(x, PairSet{}); }, {"contrastive_loss", "no pairs"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { contrastive_loss(x, PairSet{{0, 1, true}}, {.margin = 0}); },
                                      {"contrastive_loss", "margin 0"}));
}

}  // namespace
}  // namespace simile
