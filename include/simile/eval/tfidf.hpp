#pragma once
/// \file
/// TF-IDF bag of words: the classic baseline for text retrieval (Salton & Buckley 1988) against which
/// learned sentence embeddings are compared. The weighting follows scikit-learn's `TfidfVectorizer`
/// defaults, so numbers can be checked against it:
///
///     x_ij = tf_ij * idf_j / || tf_i * idf ||_2,    idf_j = ln((1 + n) / (1 + df_j)) + 1
///
/// with tf_ij the raw count of word j in text i (not sublinear), n the number of texts `fit` saw and df_j
/// the number of them that contain word j (smooth idf); rows are L2-normalized (a text without any
/// known word gives a zero row). Words come from `tokenize()` (data/text.hpp): lowercase runs of letters
/// and digits, single-letter words included (scikit-learn's default pattern drops them).
///
/// The output is dense [N, F]: the caller bounds its memory (N x F floats) with `max_features`.

#include <string>
#include <unordered_map>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/core/parallel.hpp"
#include "simile/core/tensor.hpp"
#include "simile/data/text.hpp"

namespace simile {

/// A fitted TF-IDF vocabulary: the feature words and their idf weights.
class TfIdf {
 public:
  /// Learns the features from `texts`: the words found in at least `min_df` texts; when
  /// `max_features` > 0, only the `max_features` of them with the highest document frequency (ties in
  /// alphabetical order; scikit-learn ranks by total count instead). Feature columns are in alphabetical
  /// order. Requires max_features >= 0 and min_df >= 1 (ValueError).
  static TfIdf fit(const std::vector<std::string>& texts, Index max_features = 0, Index min_df = 1);

  /// The TF-IDF rows of `texts`, float [N, F] (formula above), computed in parallel over texts. Words
  /// that are not features are ignored.
  Tensor<float> transform(const std::vector<std::string>& texts) const;

  /// Number of features F.
  Index num_features() const { return static_cast<Index>(words_.size()); }
  /// The feature words, in column order (alphabetical).
  const std::vector<std::string>& features() const { return words_; }
  /// idf_j of each feature, in column order.
  const std::vector<double>& idf() const { return idf_; }
  /// Number of texts `fit` saw (n in the idf formula).
  Index documents() const { return documents_; }

 private:
  std::vector<std::string> words_;
  std::vector<double> idf_;
  std::unordered_map<std::string, Index> column_;
  Index documents_ = 0;
};

}  // namespace simile

#if defined(SIMILE_HEADER_ONLY)
#include "simile/eval/tfidf-inl.hpp"
#endif
