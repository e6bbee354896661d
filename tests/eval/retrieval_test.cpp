#include "simile/eval/retrieval.hpp"

#include <cmath>
#include <limits>

#include "simile/eval.hpp"
#include "support/testing.hpp"

namespace simile {
namespace {
using testing::throws_with;

// Documents d0 = (1, 0), d1 = (0, 1), d2 = (1, 1), d3 = (-1, 0).
const Tensor<float> docs = Tensor<float>::from({1, 0, 0, 1, 1, 1, -1, 0}, {4, 2});

TEST(Retrieval, RanksAndMetricsByHand) {
  // Cosine scores: q0 = (2, 0): 1, 0, 0.707, -1, relevant d2 -> rank 2;
  // q1 = (0, 3): 0, 1, 0.707, 0, relevant d1 -> rank 1; q2 = (1, 0.1): relevant d3 is last -> rank 4.
  auto q = Tensor<float>::from({2, 0, 0, 3, 1, 0.1f}, {3, 2});
  std::vector<Index> rel{2, 1, 3};
  EXPECT_EQ(retrieval_ranks(q, docs, rel), (std::vector<Index>{2, 1, 4}));
  RetrievalResult r = retrieval_metrics(q, docs, rel);
  EXPECT_EQ(r.queries, 3);
  EXPECT_DOUBLE_EQ(r.recall_at_1, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.recall_at_10, 1.0);
  EXPECT_DOUBLE_EQ(r.mrr, (1.0 / 2 + 1.0 + 1.0 / 4) / 3);
  // Dot products instead: q1 = (0, 3) scores 0, 3, 3, 0: d1 and d2 tie, so each ranks 2 (pessimistic).
  std::vector<Index> rel2{0, 1, 2};
  EXPECT_EQ(retrieval_ranks(q, docs, rel2, false), (std::vector<Index>{2, 2, 1}));
  std::vector<Index> rel3{2, 2, 0};
  // q0 = (2, 0) scores 2, 0, 2, -2: d2 ties with d0 -> 2; q2 = (1, 0.1) scores 1, 0.1, 1.1, -1: d0 is 2nd.
  EXPECT_EQ(retrieval_ranks(q, docs, rel3, false), (std::vector<Index>{2, 2, 2}));
}

TEST(Retrieval, TiesArePessimistic) {
  // Three identical documents and one other: the relevant copy ties with the two others -> rank 3.
  auto d = Tensor<float>::from({1, 2, 1, 2, 1, 2, -1, 0}, {4, 2});
  auto q = Tensor<float>::from({1, 2, 0, 0, -3, 0}, {3, 2});
  std::vector<Index> rel{1, 3, 3};
  // A zero query scores 0 with everything: every document ties, rank N = 4.
  EXPECT_EQ(retrieval_ranks(q, d, rel), (std::vector<Index>{3, 4, 1}));
  RetrievalResult r = retrieval_metrics(q, d, rel);
  EXPECT_DOUBLE_EQ(r.recall_at_1, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.mrr, (1.0 / 3 + 1.0 / 4 + 1.0) / 3);
  // Cosine ignores the norm: a scaled copy of the relevant document still ties with its twins.
  auto scaled = Tensor<float>::from({10, 20}, {1, 2});
  std::vector<Index> one{0};
  EXPECT_EQ(retrieval_ranks(scaled, d, one), (std::vector<Index>{3}));
}

TEST(Retrieval, BlocksAndThreadsDoNotChangeRanks) {
  const Index q = 137, n = 301, dim = 16;
  Tensor<float> docs_r = testing::random_tensor<float>({n, dim}, 3);
  Tensor<float> queries = testing::random_tensor<float>({q, dim}, 4);
  std::vector<Index> rel(static_cast<std::size_t>(q));
  Rng rng(5);
  for (auto& r : rel) r = static_cast<Index>(rng.below(n));
  // Noisy copies of their relevant documents for half of the queries, so ranks spread over 1..n.
  for (Index i = 0; i < q; i += 2)
    for (Index k = 0; k < dim; ++k) queries.at(i, k) += 2 * docs_r.at(rel[std::size_t(i)], k);
  // Reference: every score in double, one query at a time.
  std::vector<Index> expected;
  for (Index i = 0; i < q; ++i) {
    auto unit = [&](const Tensor<float>& t, Index row) {
      Eigen::VectorXd v = t.matrix().row(row).cast<double>();
      return Eigen::VectorXd(v / v.norm());
    };
    Eigen::VectorXd qi = unit(queries, i);
    double mine = qi.dot(unit(docs_r, rel[std::size_t(i)]));
    Index rank = 1;
    for (Index j = 0; j < n; ++j)
      if (j != rel[std::size_t(i)] && qi.dot(unit(docs_r, j)) >= mine) ++rank;
    expected.push_back(rank);
  }
  EXPECT_EQ(retrieval_ranks(queries, docs_r, rel, true, 100000), expected);
  for (Index block : {1, 7, 64}) {
    ThreadScope threads(2);
    EXPECT_EQ(retrieval_ranks(queries, docs_r, rel, true, block), expected) << "block " << block;
  }
  RetrievalResult r = retrieval_metrics(queries, docs_r, rel);
  EXPECT_GT(r.recall_at_1, 0.4);  // the noisy copies
  EXPECT_LT(r.recall_at_1, 0.6);
  EXPECT_GE(r.recall_at_10, r.recall_at_1);
  EXPECT_GE(r.mrr, r.recall_at_1);
}

TEST(Retrieval, Errors) {
  auto q = Tensor<float>::from({1, 0}, {1, 2});
  std::vector<Index> rel{0};
  EXPECT_TRUE(throws_with<ShapeError>([&] { retrieval_ranks(Tensor<float>::zeros({2}), docs, rel); },
                                      {"retrieval_ranks", "expected queries [Q, D] and documents [N, D]"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        retrieval_metrics(Tensor<float>::zeros({1, 3}), docs, rel);
      },
      {"retrieval_ranks", "[1, 3]", "[4, 2]"}));
  std::vector<Index> two{0, 1};
  EXPECT_TRUE(throws_with<ShapeError>([&] { retrieval_ranks(q, docs, two); }, {"2 relevant indices for 1 queries"}));
  std::vector<Index> out{4};
  EXPECT_TRUE(throws_with<ValueError>([&] { retrieval_ranks(q, docs, out); },
                                      {"retrieval_ranks", "relevant[0] = 4 is out of range for 4 documents"}));
  std::vector<Index> negative{-1};
  EXPECT_TRUE(throws_with<ValueError>([&] { retrieval_ranks(q, docs, negative); }, {"relevant[0] = -1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { retrieval_ranks(q, docs, rel, true, 0); }, {"block 0"}));
  auto bad = Tensor<float>::from({1, 0, 0, std::numeric_limits<float>::quiet_NaN()}, {2, 2});
  std::vector<Index> rel2{0, 1};
  EXPECT_TRUE(throws_with<NumericError>([&] { retrieval_ranks(bad, docs, rel2); }, {"queries row 1", "NaN"}));
  EXPECT_TRUE(throws_with<NumericError>(
      [&] {
        retrieval_ranks(docs, bad, std::vector<Index>{0, 0, 0, 0});
      },
      {"documents row 1"}));
  // No queries: nothing to rank, metrics zero.
  RetrievalResult none = retrieval_metrics(Tensor<float>::zeros({0, 2}), docs, {});
  EXPECT_EQ(none.queries, 0);
  EXPECT_EQ(none.mrr, 0.0);
}

}  // namespace
}  // namespace simile
