// The sentence-embedding evaluation: the WordNet benchmark's texts, labels and queries, and
// evaluate_sentences with embedders whose answers are known (a perfect one, a constant one), and errors.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "simile/eval/sentence.hpp"
#include "support/testing.hpp"

namespace {
using namespace simile;
using simile::testing::throws_with;

std::vector<Synset> toy_synsets() {
  std::vector<Synset> s;
  for (int i = 0; i < 40; ++i) {
    Synset x;
    x.id = "n" + std::to_string(10000000 + i);
    x.pos = 'n';
    x.lex_file = 5 + i % 4;
    x.lemmas = {"word" + std::to_string(i)};
    x.gloss = "gloss of " + std::to_string(i);
    if (i % 3 == 0) x.examples = {"example of " + std::to_string(i), "second example"};
    s.push_back(x);
  }
  return s;
}

/// Row i: one-hot of the number in the text, plus one-hot of (number mod 4) scaled, so that a query
/// "example of k" matches "gloss of k" exactly and the probe can read the class.
Tensor<float> one_hot_embedder(const std::vector<std::string>& texts) {
  Tensor<float> t = Tensor<float>::zeros({Index(texts.size()), 44});
  for (std::size_t i = 0; i < texts.size(); ++i) {
    int k = std::stoi(texts[i].substr(texts[i].rfind(' ') + 1));
    t.data()[i * 44 + std::size_t(k)] = 1;
    t.data()[i * 44 + 40 + std::size_t(k % 4)] = 1;
  }
  return t;
}

TEST(WordnetBenchmark, TextsLabelsAndQueriesFollowTheSplit) {
  std::vector<Synset> s = toy_synsets();
  SynsetSplit split{{0, 1, 2, 4, 5, 7}, {3, 6, 8, 9}};
  SentenceBenchmark b = wordnet_benchmark(s, split);
  EXPECT_EQ(b.train_texts.size(), 6u);
  EXPECT_EQ(b.test_texts, (std::vector<std::string>{"gloss of 3", "gloss of 6", "gloss of 8", "gloss of 9"}));
  EXPECT_EQ(b.test_labels, (std::vector<std::int64_t>{8, 7, 5, 6}));
  // Test synsets 3, 6 and 9 have examples: their first one is the query, their gloss the relevant text.
  EXPECT_EQ(b.queries, (std::vector<std::string>{"example of 3", "example of 6", "example of 9"}));
  EXPECT_EQ(b.relevant, (std::vector<Index>{0, 1, 3}));
  EXPECT_TRUE(throws_with<ValueError>([&] { wordnet_benchmark(s, SynsetSplit{{0}, {40}}); }, {"wordnet_benchmark", "40"}));
}

TEST(EvaluateSentences, PerfectAndConstantEmbedders) {
  std::vector<Synset> s = toy_synsets();
  SynsetSplit split = split_synsets(40, 0.25, 3);
  SentenceBenchmark b = wordnet_benchmark(s, split);
  SentenceReport perfect = evaluate_sentences(b, one_hot_embedder);
  EXPECT_EQ(perfect.dim, 44);
  EXPECT_EQ(perfect.probe_accuracy, 1.0);
  EXPECT_EQ(perfect.retrieval.recall_at_1, 1.0);
  EXPECT_EQ(perfect.retrieval.mrr, 1.0);
  EXPECT_EQ(perfect.retrieval.queries, Index(b.queries.size()));
  // A constant embedding ties every document: pessimistic ranks put the relevant one last.
  SentenceReport constant = evaluate_sentences(
      b, [](const std::vector<std::string>& t) { return Tensor<float>::ones({Index(t.size()), 3}); });
  EXPECT_EQ(constant.retrieval.recall_at_1, 0.0);
  EXPECT_NEAR(constant.retrieval.mrr, 1.0 / double(b.test_texts.size()), 1e-12);
  // The probe trained on a seeded subset of the training texts.
  SentenceReport limited = evaluate_sentences(b, one_hot_embedder, {.probe_train_limit = 12, .seed = 1});
  EXPECT_EQ(limited.probe_train, 12);
}

TEST(EvaluateSentences, Errors) {
  SentenceBenchmark empty;
  EXPECT_TRUE(throws_with<ValueError>([&] { evaluate_sentences(empty, one_hot_embedder); }, {"evaluate_sentences", "non-empty"}));
  SentenceBenchmark b = wordnet_benchmark(toy_synsets(), split_synsets(40, 0.25, 3));
  EXPECT_TRUE(throws_with<ShapeError>([&] {
    evaluate_sentences(b, [](const std::vector<std::string>&) { return Tensor<float>::ones({2, 3}); });
  }, {"evaluate_sentences", "returned"}));
  b.relevant.pop_back();
  EXPECT_TRUE(throws_with<ValueError>([&] { evaluate_sentences(b, one_hot_embedder); }, {"do not match"}));
}

}  // namespace
