#pragma once
/// \file
/// Definitions of eval/sentence.hpp (compiled once by src/eval/sentence.cpp, or included by the header in
/// header-only mode).

#include <algorithm>
#include <numeric>

#include "simile/core/rng.hpp"
#include "simile/data/dataset.hpp"
#include "simile/eval/report.hpp"
#include "simile/eval/sentence.hpp"

namespace simile {

SIMILE_INLINE SentenceBenchmark wordnet_benchmark(const std::vector<Synset>& synsets, const SynsetSplit& split) {
  SentenceBenchmark b;
  auto n = static_cast<Index>(synsets.size());
  for (Index i : split.train) {
    detail::check_index("wordnet_benchmark", i, n);
    b.train_texts.push_back(synsets[std::size_t(i)].gloss);
    b.train_labels.push_back(synsets[std::size_t(i)].lex_file);
  }
  for (Index i : split.test) {
    detail::check_index("wordnet_benchmark", i, n);
    const Synset& s = synsets[std::size_t(i)];
    if (!s.examples.empty()) {
      b.queries.push_back(s.examples.front());
      b.relevant.push_back(static_cast<Index>(b.test_texts.size()));
    }
    b.test_texts.push_back(s.gloss);
    b.test_labels.push_back(s.lex_file);
  }
  return b;
}

SIMILE_INLINE SentenceReport evaluate_sentences(const SentenceBenchmark& b, const TextEmbedder& embed,
                                                const SentenceEvaluationOptions& o) {
  check<ValueError>(!b.train_texts.empty() && !b.test_texts.empty(), "evaluate_sentences: ", b.train_texts.size(),
                    " training and ", b.test_texts.size(), " test texts; both must be non-empty");
  check<ValueError>(b.train_labels.size() == b.train_texts.size() && b.test_labels.size() == b.test_texts.size() &&
                        b.relevant.size() == b.queries.size(),
                    "evaluate_sentences: texts, labels and queries do not match in number");
  check<ValueError>(o.probe_train_limit >= 0, "evaluate_sentences: probe_train_limit ", o.probe_train_limit, " is negative");
  std::vector<std::string> probe_texts = b.train_texts;
  std::vector<std::int64_t> probe_labels = b.train_labels;
  if (o.probe_train_limit > 0 && o.probe_train_limit < static_cast<Index>(probe_texts.size())) {
    std::vector<Index> order(probe_texts.size());
    std::iota(order.begin(), order.end(), Index(0));
    Rng rng = Rng::stream(o.seed, 0x5e47e4ceULL);
    shuffle(order, rng);
    order.resize(static_cast<std::size_t>(o.probe_train_limit));
    std::sort(order.begin(), order.end());
    std::vector<std::string> t;
    std::vector<std::int64_t> y;
    for (Index i : order) t.push_back(b.train_texts[std::size_t(i)]), y.push_back(b.train_labels[std::size_t(i)]);
    probe_texts = std::move(t), probe_labels = std::move(y);
  }
  SentenceReport r;
  Tensor<float> train = embed(probe_texts), test = embed(b.test_texts);
  check<ShapeError>(train.rank() == 2 && test.rank() == 2 && train.dim(0) == Index(probe_texts.size()) &&
                        test.dim(0) == Index(b.test_texts.size()) && train.dim(1) == test.dim(1),
                    "evaluate_sentences: the embedder returned ", train.shape(), " and ", test.shape(), " for ",
                    probe_texts.size(), " and ", b.test_texts.size(), " texts");
  r.dim = train.dim(1);
  r.probe_train = static_cast<Index>(probe_texts.size());
  r.probe_accuracy = linear_probe(train, probe_labels, test, b.test_labels, o.probe).test_accuracy;
  if (!b.queries.empty()) r.retrieval = retrieval_metrics(embed(b.queries), test, b.relevant, true);
  return r;
}

}  // namespace simile
