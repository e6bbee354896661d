#pragma once
/// \file
/// Evaluation of sentence embeddings, for any way of embedding text (a trained encoder, an untrained one,
/// TF-IDF), so that every method goes through the same code:
/// - the linear probe: a label of each text (WordNet: the lexicographer file of a gloss) predicted from its
///   embedding, trained on the training texts and scored on the test texts (`linear_probe`);
/// - retrieval: each query (WordNet: an example sentence of a test synset) ranks all test texts by cosine
///   similarity; recall@1, recall@10 and mean reciprocal rank of its relevant text (`retrieval_metrics`).
/// `wordnet_benchmark` builds the benchmark from WordNet's synsets and a split by synset.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "simile/core/tensor.hpp"
#include "simile/data/wordnet.hpp"
#include "simile/eval/linear_probe.hpp"
#include "simile/eval/retrieval.hpp"

namespace simile {

/// Labeled texts split into train and test, and retrieval queries over the test texts.
struct SentenceBenchmark {
  /// @{
  /// The texts the probe is trained on and tested on.
  std::vector<std::string> train_texts, test_texts;
  /// @}
  /// @{
  /// One class id >= 0 per text.
  std::vector<std::int64_t> train_labels, test_labels;
  /// @}
  std::vector<std::string> queries;                     ///< retrieval queries
  std::vector<Index> relevant;                          ///< for each query, the index of its text in test_texts
};

/// WordNet as a benchmark: glosses labeled by lexicographer file (train and test by synset, `split`); a
/// query for each test synset with an example sentence (its first), relevant to the synset's gloss.
SentenceBenchmark wordnet_benchmark(const std::vector<Synset>& synsets, const SynsetSplit& split);

/// Options of `evaluate_sentences`.
struct SentenceEvaluationOptions {
  LinearProbeOptions probe;  ///< the linear probe
  /// Train the probe on at most this many training texts (0: all), the first ones of a seeded shuffle. The
  /// default keeps the probe of WordNet's 100,000 training glosses to seconds; it learns as well from 20,000.
  Index probe_train_limit = 20000;
  std::uint64_t seed = 0;  ///< seeds the shuffle that picks the probe's training texts
};

/// What `evaluate_sentences` measures.
struct SentenceReport {
  double probe_accuracy = 0;  ///< test accuracy of the linear probe
  Index probe_train = 0;      ///< texts the probe was trained on
  RetrievalResult retrieval;  ///< recall at 1 and 10 and the MRR of the queries against the test texts
  Index dim = 0;              ///< embedding width
};

/// A function from texts to their embeddings [texts.size(), D].
using TextEmbedder = std::function<Tensor<float>(const std::vector<std::string>&)>;

/// Embeds the benchmark's texts with `embed` and measures the probe and retrieval (see the file comment).
SentenceReport evaluate_sentences(const SentenceBenchmark& benchmark, const TextEmbedder& embed,
                                  const SentenceEvaluationOptions& options = {});

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/eval/sentence-inl.hpp"
#endif
