#include <cmath>

#include "simile/losses.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::grad_ok;
using testing::random_param;
using testing::random_tensor;
using testing::throws_with;
using V = std::vector<Var<double>>;

TEST(TripletLoss, FourPointsByHand) {
  // Class 0: a = (0,0), b = (1,0); class 1: c = (0,2), e = (3,0).
  Var<double> x(Tensor<double>::from({0, 0, 1, 0, 0, 2, 3, 0}, {4, 2}), true);
  Labels labels{0, 0, 1, 1};
  // Batch hard: anchor a: p = b (1), closest n = c (2): max(0, 1 - 2 + 1.5) = 0.5.
  //             anchor b: p = a (1), n: c sqrt(5), e 2 -> e: 1 - 2 + 1.5 = 0.5.
  //             anchor c: p = e (sqrt 13), n: a 2, b sqrt 5 -> a: sqrt13 - 2 + 1.5.
  //             anchor e: p = c (sqrt 13), n: b 2 -> sqrt13 - 2 + 1.5.
  double want = (0.5 + 0.5 + 2 * (std::sqrt(13.0) - 0.5)) / 4;
  EXPECT_NEAR(triplet_loss(x, labels, {.margin = 1.5}).item(), want, 1e-12);
  // One explicit triplet (a, b, e): d(a,b) = 1, d(a,e) = 3, margin 1: inactive.
  EXPECT_EQ(triplet_margin_loss(x, TripletSet{{0, 1, 3}}, {.margin = 1}).item(), 0);
}

TEST(TripletLoss, GradcheckEveryMining) {
  Labels labels{0, 1, 0, 1, 2, 2, 0};
  Var<double> x = random_param({7, 3}, 5);
  for (TripletMining mining : {TripletMining::all, TripletMining::batch_hard, TripletMining::semi_hard})
    for (PairDistance dist : {PairDistance::euclidean, PairDistance::cosine})
      for (bool nonzero : {false, true}) {
        // The selection is fixed from the unperturbed values: gradcheck the loss on those triplets.
        TripletOptions opt{.margin = 0.7, .distance = dist, .mining = mining, .average_nonzero = nonzero};
        MinerDistance md = dist == PairDistance::cosine ? MinerDistance::cosine : MinerDistance::euclidean;
        TripletSet t = mining == TripletMining::all          ? all_triplets(labels)
                       : mining == TripletMining::batch_hard ? batch_hard_triplets(x.value(), labels, md)
                                                             : semi_hard_triplets(x.value(), labels, 0.7, md);
        ASSERT_FALSE(t.empty());
        EXPECT_NEAR(triplet_loss(x, labels, opt).item(), triplet_margin_loss(x, t, opt).item(), 1e-15);
        EXPECT_TRUE(grad_ok([&](const V& v) { return triplet_margin_loss(v[0], t, opt); }, {x}));
      }
}

TEST(TripletLoss, NothingSelectedGivesZero) {
  Var<double> x = random_param({3, 2}, 6);
  Var<double> l = triplet_loss(x, Labels{0, 1, 2});  // no positive pair
  EXPECT_EQ(l.item(), 0);
  l.backward();
  EXPECT_FALSE(x.has_grad() && x.grad().matrix().cwiseAbs().maxCoeff() > 0);
}

TEST(TripletLoss, Errors) {
  Var<float> x(Tensor<float>::ones({3, 2}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { triplet_margin_loss(x, TripletSet{{0, 1, 5}}); },
                                      {"triplet_margin_loss", "(0, 1, 5)", "3 rows"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { triplet_loss(x, Labels{0, 1}); }, {"triplet_loss", "2 labels"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { triplet_margin_loss(x, TripletSet{}, {.margin = -1}); },
                                      {"triplet_margin_loss", "margin -1"}));
}

}  // namespace
}  // namespace simile
