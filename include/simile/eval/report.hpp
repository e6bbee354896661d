#pragma once
/// \file
/// The evaluation protocol, as one call: embed a labeled train and test set with a frozen encoder
/// (eval mode, no graph), then report the linear probe (all labels, and 1 % and 10 % of them, stratified
/// and seeded), weighted kNN, and the representation's alignment (on two augmented views of test
/// images) and uniformity (on test embeddings).
///
/// The encoder is provably frozen: it runs under `NoGradGuard` in eval mode (batch norm uses its
/// running statistics and does not update them), and is put back in the mode it was in.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <vector>

#include "simile/core/allocator.hpp"
#include "simile/core/instantiate.hpp"
#include "simile/augment/multiview.hpp"
#include "simile/autograd/var.hpp"
#include "simile/data/dataset.hpp"
#include "simile/data/loader.hpp"
#include "simile/data/text.hpp"
#include "simile/eval/knn.hpp"
#include "simile/eval/linear_probe.hpp"
#include "simile/eval/representation.hpp"
#include "simile/nn/module.hpp"

namespace simile {

namespace detail {
/// h = encoder(x) of `n` samples, float [n, D]: `make(begin, end)` gives the input of positions
/// [begin, end) of `order` (a permutation of 0..n-1, or empty for the identity) as a float tensor whose
/// first dimension is end - begin, and row i of the result is the sample `order[i]`'s h. Eval mode, no graph;
/// the encoder's mode is restored afterwards.
template <Real T, class MakeBatch>
Tensor<float> embed_batches(nn::Module<T>& encoder, Index n, Index batch_size, std::span<const Index> order,
                            MakeBatch&& make) {
  check(batch_size >= 1, "embed: batch size ", batch_size, " must be at least 1");
  NoGradGuard no_grad;
  const bool was_training = encoder.is_training();
  encoder.eval();
  Tensor<float> out;
  for (Index begin = 0; begin < n; begin += batch_size) {
    const Index end = std::min(n, begin + batch_size);
    Tensor<float> input = make(begin, end);
    Var<T> x;
    if constexpr (std::is_same_v<T, float>) x = Var<T>(input);
    else x = Var<T>(input.template to<T>());
    Var<T> h = encoder.forward(x);
    check<ShapeError>(h.shape().rank() == 2 && h.dim(0) == end - begin, "embed: the encoder returned shape ",
                      h.shape(), " for a batch of ", end - begin, "; expected [batch, features]");
    if (!out.defined()) out = Tensor<float>::empty({n, h.dim(1)});
    Tensor<float> hf;
    if constexpr (std::is_same_v<T, float>) hf = h.value();
    else hf = h.value().template to<float>();
    if (order.empty()) {
      hf.copy_to(out.slice_rows(begin, end));
    } else {
      for (Index i = begin; i < end; ++i) hf.slice_rows(i - begin, i - begin + 1).copy_to(out.slice_rows(order[i], order[i] + 1));
    }
  }
  encoder.train(was_training);
  return out;
}
}  // namespace detail

/// Representations h = encoder(x) of every sample of `data`, in dataset order: float [N, D]. Runs in
/// eval mode without recording a graph; the encoder's mode is restored afterwards.
template <Real T>
Tensor<float> embed(nn::Module<T>& encoder, const ImageDataset& data, Index batch_size = 512) {
  Loader<ImageDataset> loader(data, {.batch_size = std::max<Index>(batch_size, 1), .shuffle = false});
  return detail::embed_batches(encoder, data.size(), batch_size, {},
                               [&](Index begin, Index) { return loader.batch(begin / batch_size).data; });
}

/// h of every row of a feature table [N, D] (tabular data), in order: float [N, h].
template <Real T>
Tensor<float> embed(nn::Module<T>& encoder, const VectorDataset& data, Index batch_size = 512) {
  return detail::embed_batches(encoder, data.size(), batch_size, {}, [&](Index begin, Index end) {
    return data.features().slice_rows(begin, end).clone();
  });
}

/// h of every token sequence, in dataset order: float [N, h]. Sequences are batched by length (the batch
/// is padded to its longest, so similar lengths waste nothing) and the rows put back in dataset order;
/// the encoder sees ids as floats with 0 as padding, as in training.
template <Real T>
Tensor<float> embed(nn::Module<T>& encoder, const TextDataset& data, Index batch_size = 512) {
  std::vector<Index> order(static_cast<std::size_t>(data.size()));
  std::iota(order.begin(), order.end(), Index(0));
  const auto& seqs = data.sequences();
  std::stable_sort(order.begin(), order.end(),
                   [&](Index a, Index b) { return seqs[std::size_t(a)].size() < seqs[std::size_t(b)].size(); });
  return detail::embed_batches(encoder, data.size(), batch_size, order, [&](Index begin, Index end) {
    std::vector<std::vector<Token>> batch;
    for (Index i = begin; i < end; ++i) {
      batch.push_back(seqs[std::size_t(order[std::size_t(i)])]);
      if (batch.back().empty()) batch.back().push_back(Vocabulary::unknown);  // h of an empty text: of <unk>
    }
    return pad_sequences(batch).ids.template to<float>();
  });
}

/// How `evaluate` and `evaluate_features` evaluate: the kNN and probe options, the label fractions.
struct EvaluationOptions {
  KnnOptions knn;             ///< the kNN classifier (k is capped at the training set's size)
  LinearProbeOptions probe;   ///< the linear probe, for every label fraction
  bool label_fractions = true;   ///< also probe on 1 % and 10 % of the training labels
  /// The penalties the 1 % and 10 % probes choose from, each by `probe.folds`-fold cross-validation on its
  /// own labeled rows (fewer folds when it has fewer rows; `LinearProbeOptions::l2_grid`, folds drawn from
  /// `seed`); empty: `probe.l2` as given. Few labels need a larger penalty than all of them.
  std::vector<double> fraction_l2_grid = {1e-4, 1e-3, 1e-2, 1e-1, 1.0};
  std::uint64_t seed = 0;        ///< seeds the label subsets and the views for alignment
  Index batch_size = 512;        ///< samples per encoder call when embedding
  /// `evaluate_encoder`: once the sets are embedded, return the caching allocator's free blocks to the
  /// system (`CachingAllocator::empty_cache`): the encoder's batches and the probes' matrices share no
  /// sizes, so kept blocks would only add to the peak (measured, `simile eval` of a SmallConvNet checkpoint
  /// with the 2x2 readout on Fashion-MNIST: 1.00 GB kept, 0.76 GB returned). A training step after it takes
  /// its memory from the system once more.
  bool release_cached_memory = true;
};

/// The results of one evaluation; accuracies are fractions in [0, 1] on the test set.
struct EvaluationReport {
  double linear_probe_accuracy = 0;  ///< the linear probe trained on every training label
  double knn_accuracy = 0;           ///< weighted kNN against the training embeddings
  /// @{
  /// The linear probe trained on a stratified 1 % (10 %) of the training labels; empty unless
  /// `EvaluationOptions::label_fractions`.
  std::optional<double> linear_probe_1pct, linear_probe_10pct;
  /// @}
  std::optional<double> alignment;  ///< needs a view pipeline
  double uniformity = 0;            ///< `uniformity` of the test embeddings (lower: more spread)
  double effective_rank = 0;        ///< `effective_rank` of the test embeddings (collapse: near 1)
  double normalized_std = 0;        ///< `normalized_std` of the test embeddings (collapse: near 0)
  Index dim = 0;                    ///< D, the embedding's width
};

/// Evaluates precomputed features (train [N, D] and test [M, D]) with their datasets' labels.
inline EvaluationReport evaluate_features(const Tensor<float>& train, const std::vector<std::int64_t>& train_labels,
                                          const Tensor<float>& test, const std::vector<std::int64_t>& test_labels,
                                          const EvaluationOptions& opt = {}) {
  EvaluationReport r;
  r.dim = train.dim(1);
  r.linear_probe_accuracy = linear_probe(train, train_labels, test, test_labels, opt.probe).test_accuracy;
  KnnOptions knn = opt.knn;
  knn.k = static_cast<int>(std::min<Index>(knn.k, train.dim(0)));
  r.knn_accuracy = knn_classify(train, train_labels, test, test_labels, knn).accuracy;
  if (opt.label_fractions) {
    for (double f : {0.01, 0.10}) {
      Split s = stratified_split(train_labels, f, opt.seed);
      auto [x, y] = take_rows(train, train_labels, s.kept);
      LinearProbeOptions few = opt.probe;
      if (!opt.fraction_l2_grid.empty() && x.dim(0) >= 2) {  // fewer folds when fewer rows
        few.l2_grid = opt.fraction_l2_grid;
        few.folds = static_cast<int>(std::min<Index>(few.folds, x.dim(0)));
        few.seed = opt.seed;
      }
      double acc = linear_probe(x, y, test, test_labels, few).test_accuracy;
      (f < 0.05 ? r.linear_probe_1pct : r.linear_probe_10pct) = acc;
    }
  }
  r.uniformity = uniformity(test);
  r.effective_rank = effective_rank(test);
  r.normalized_std = normalized_std(test);
  return r;
}

/// Alignment (`alignment`, alpha 2) of the frozen `encoder`'s h on two views of the first `count` images of
/// `data` (all of them when fewer), drawn by `views` from `seed` at epoch 0: how close the encoder keeps two
/// augmentations of one image. Eval mode, no graph, `batch_size` views per encoder call (memory stays that of
/// one batch, as `embed`'s); the encoder's mode is restored afterwards. Requires a pipeline of at least two
/// views, count >= 1 and batch_size >= 1.
template <Real T>
double view_alignment(nn::Module<T>& encoder, const ImageDataset& data, const MultiView& views, Index count,
                      std::uint64_t seed, Index batch_size = 512) {
  check(views.count() >= 2, "view_alignment: alignment needs two views, the pipeline makes ", views.count());
  check(count >= 1 && data.size() >= 1, "view_alignment: ", count, " images asked of a set of ", data.size());
  const Index n = std::min<Index>(data.size(), count);
  Loader<ImageDataset> loader(data, {.batch_size = n, .shuffle = false, .seed = seed});
  ViewWorkspace ws;
  std::vector<Tensor<float>> v = views.make_batch(data, loader.indices(0), seed, 0, ws);
  auto h = [&](const Tensor<float>& x) {
    return detail::embed_batches(encoder, n, batch_size, {}, [&](Index b, Index e) { return x.slice_rows(b, e); });
  };
  return alignment(h(v[0]), h(v[1]));
}

/// Embeds `train` and `test` with the frozen `encoder` and evaluates (see the file comment). With
/// `views` (two views), alignment is measured on the first 2,048 test images (`view_alignment`).
template <Real T>
EvaluationReport evaluate_encoder(nn::Module<T>& encoder, const ImageDataset& train, const ImageDataset& test,
                                  const EvaluationOptions& opt = {}, const MultiView* views = nullptr) {
  check(train.has_labels() && test.has_labels(), "evaluate_encoder: train and test sets need labels");
  Tensor<float> ftr = embed(encoder, train, opt.batch_size);
  Tensor<float> fte = embed(encoder, test, opt.batch_size);
  if (opt.release_cached_memory) CachingAllocator::instance().empty_cache();
  EvaluationReport r = evaluate_features(ftr, train.labels(), fte, test.labels(), opt);
  if (views) {
    check(views->count() >= 2, "evaluate_encoder: alignment needs two views, the pipeline makes ", views->count());
    r.alignment = view_alignment(encoder, test, *views, 2048, opt.seed, opt.batch_size);
  }
  return r;
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_EVAL_REPORT(P, T) \
  P template Tensor<float> embed<T>(nn::Module<T>& encoder, const ImageDataset& data, Index batch_size); \
  P template Tensor<float> embed<T>(nn::Module<T>& encoder, const VectorDataset& data, Index batch_size); \
  P template Tensor<float> embed<T>(nn::Module<T>& encoder, const TextDataset& data, Index batch_size); \
  P template double view_alignment<T>(nn::Module<T>& encoder, const ImageDataset& data, const MultiView& views, Index count, std::uint64_t seed, Index batch_size); \
  P template EvaluationReport evaluate_encoder<T>(nn::Module<T>& encoder, const ImageDataset& train, const ImageDataset& test, const EvaluationOptions& opt , const MultiView* views);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_EVAL_REPORT)

}  // namespace simile
