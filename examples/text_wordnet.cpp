// Sentence embeddings on WordNet 3.0 (Debian's wordnet-base): glosses, example sentences and lexicographer
// files of 117,659 synsets, split by synset. Trains a text encoder with in-batch negatives, then measures it,
// an untrained encoder of the same architecture and TF-IDF through the same evaluation: the linear probe of
// the lexicographer file from a gloss's embedding, and retrieval (each test example sentence ranks all test
// glosses: recall@1, recall@10, MRR).
//
//   text_wordnet [--method pairs|simcse] [--architecture transformer|bag] [--tokenizer bpe|words|hashed]
//                [--budget-seconds 600] [--threads 2]
//
// Methods: `pairs` (a dual encoder on given positives among the training synsets: example sentence -> gloss,
// lemmas -> gloss, gloss -> hypernym's gloss; --pairs chooses), `simcse` (SimCSE: each training gloss and
// example twice, dropout as the only noise unless --token-drop, --token-crop or --token-swaps add token-level
// views; they apply to both sides of the pairs too). Tokenizers: `bpe` (subwords) and `words` (the most frequent
// words, the rest unknown) learned from the training synsets' text only, or `hashed` (fastText's hashed words
// and character n-grams of 3 to 5, --buckets ids, nothing learned).
//
// For benchmarks (bench/text_torch.py): `--no-eval` skips the evaluation and prints the training figures only
// ("sentences_per_second" is the trainer's samples per second: pairs per second for `pairs`);
// `--dump-batches DIR` writes the first --max-steps (default 20) training batches the trainer would get,
// DIR/batch_0.npy, batch_1.npy, ... (float32 token ids [2N, L], 0 = padding, rows 0..N-1 side a, N..2N-1
// side b), prints their count and the vocabulary size as JSON, and exits without training.

#include <algorithm>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "simile/simile.hpp"
#include "support/command_line.hpp"

using namespace simile;

namespace {

struct Config {
  std::string wordnet = "/usr/share/wordnet", method = "pairs", architecture = "transformer", tokenizer = "bpe";
  std::vector<std::string> pairs{"example", "lemma", "hypernym"};
  TokenViewOptions token_views;
  std::int64_t vocab = 8000, buckets = 1 << 16, max_length = 0, width = 128, layers = 2, heads = 4, batch = 256,
               max_steps = 0, limit = 0, probe_limit = SentenceEvaluationOptions{}.probe_train_limit;
  double budget = 600, lr = 1e-3, temperature = 0.05, dropout = 0.1, test_fraction = 0.1;
  int threads = 2;
  std::uint64_t seed = 0;
  bool baselines = false, profile = false;
  bool no_eval = false;      // benchmarks: train, print the training figures, skip the evaluation
  std::string dump_batches;  // benchmarks: write the first batches as NPY files and exit
};

/// Texts -> token ids, with one of the tokenizers, cut to `max_length` tokens.
struct TextEncoding {
  Index vocab_size = 0;
  std::function<TextDataset(const std::vector<std::string>&)> encode;
};

template <Tokenizer T>
TextEncoding encoding(T tokenizer, Index max_length) {
  auto t = std::make_shared<const T>(std::move(tokenizer));
  return {t->size(), [t, max_length](const std::vector<std::string>& texts) {
            return make_text_dataset(texts, *t, {}, max_length);
          }};
}

/// The tokenizer --tokenizer names, learned from `corpus` (bpe, words) or fixed (hashed).
TextEncoding make_encoding(const Config& c, const std::vector<std::string>& corpus, Index max_length) {
  if (c.tokenizer == "words") return encoding(Vocabulary::build(corpus, {.max_size = c.vocab}), max_length);
  if (c.tokenizer == "hashed") return encoding(HashedNgramTokenizer({.buckets = c.buckets}), max_length);
  return encoding(BpeTokenizer::train(corpus, c.vocab), max_length);
}

void run(Config c) {
  if (c.max_length == 0) c.max_length = c.tokenizer == "hashed" ? 512 : 32;
  std::vector<Synset> synsets = read_wordnet(c.wordnet);
  SynsetSplit split = split_synsets(static_cast<Index>(synsets.size()), c.test_fraction, c.seed);
  if (c.limit > 0) split = first_synsets(split, c.limit);  // a small run

  // The training text (glosses and examples of the training synsets only) and the positive pairs of the
  // `pairs` method among them (see `wordnet_text`).
  auto wants = [&](const char* kind) { return std::find(c.pairs.begin(), c.pairs.end(), kind) != c.pairs.end(); };
  WordnetText text = wordnet_text(synsets, split.train, {wants("example"), wants("lemma"), wants("hypernym")});
  const std::vector<std::string>& corpus = text.sentences;
  const TextEncoding tokens = make_encoding(c, corpus, c.max_length);

  Rng rng(c.seed);
  encoders::TextEncoderOptions eo{.architecture = c.architecture == "bag" ? encoders::TextArchitecture::bag
                                                                          : encoders::TextArchitecture::transformer,
                                  .vocab_size = tokens.vocab_size, .width = c.width, .layers = c.layers,
                                  .heads = c.heads,
                                  .max_length = c.max_length, .dropout = c.dropout};
  auto encoder = std::make_shared<encoders::TextEncoder<float>>(eo, rng);
  DualEncoder<float> recipe(c.method == "simcse" ? "simcse" : "pairs", encoder, std::make_shared<nn::Identity<float>>(),
                            {.temperature = c.temperature, .symmetric = c.method != "simcse"});

  std::unique_ptr<ViewSource> source;
  LoaderOptions lo{.batch_size = c.batch, .shuffle = true, .drop_last = true, .seed = c.seed};
  const TextMultiView views = TextMultiView::same(token_views(c.token_views), 2);
  if (c.method == "simcse")
    source = std::make_unique<TextViewSource>(Loader<TextDataset>(tokens.encode(corpus), lo), views);
  else
    source = std::make_unique<TextPairViewSource>(Loader<TextDataset>(tokens.encode(text.anchors), lo),
                                                  tokens.encode(text.positives), views);
  if (!c.dump_batches.empty()) {  // the batches the trainer would get first (epoch 0 on, as Trainer::fit)
    std::filesystem::create_directories(c.dump_batches);
    const Index count = c.max_steps > 0 ? c.max_steps : 20, per_epoch = source->num_batches();
    for (Index i = 0; i < count; ++i) {
      if (i % per_epoch == 0) source->set_epoch(std::uint64_t(i / per_epoch));
      write_npy(c.dump_batches + "/batch_" + std::to_string(i) + ".npy", source->batch(i % per_epoch).views.data);
    }
    examples::print_json({{"method", std::string(c.method)}, {"dumped_batches", count},
                          {"batches_per_epoch", per_epoch}, {"batch", c.batch}, {"vocab", tokens.vocab_size},
                          {"directory", c.dump_batches}});
    return;
  }
  optim::AdamW<float> adam({{recipe.model().parameters(), {.lr = c.lr, .weight_decay = 0.01}}});
  Trainer<float> trainer(recipe, *source, adam,
                         {.epochs = 1000, .max_steps = c.max_steps, .budget_seconds = c.budget, .threads = c.threads,
                          .cosine_lr = true, .profile = c.profile});
  trainer.add_callback(std::make_shared<ProgressBar<float>>(50));
  TrainResult r = trainer.fit();
  if (c.profile) std::cerr << trainer.profile().format(trainer.profiled_steps());
  if (c.no_eval) {
    examples::print_json({{"method", recipe.name()}, {"architecture", std::string(to_string(eo.architecture))},
                          {"steps", r.steps}, {"seconds", r.seconds}, {"sentences_per_second", r.samples_per_second},
                          {"final_loss", r.final_loss}, {"vocab", tokens.vocab_size}, {"batch", c.batch},
                          {"threads", c.threads}});
    return;
  }

  ThreadScope scope(c.threads);
  SentenceBenchmark bench = wordnet_benchmark(synsets, split);
  SentenceEvaluationOptions so{.probe_train_limit = c.probe_limit, .seed = c.seed};
  auto with_encoder = [&](encoders::TextEncoder<float>& e) {
    return [&tokens, &e](const std::vector<std::string>& texts) { return embed(e, tokens.encode(texts)); };
  };
  SentenceReport learned = evaluate_sentences(bench, with_encoder(*encoder), so);
  std::vector<examples::JsonField> fields{
      {"method", recipe.name()}, {"architecture", std::string(to_string(eo.architecture))}, {"tokenizer", c.tokenizer},
      {"steps", r.steps}, {"seconds", r.seconds}, {"sentences_per_second", r.samples_per_second},
      {"final_loss", r.final_loss}, {"vocab", tokens.vocab_size}, {"train_synsets", Index(split.train.size())},
      {"test_synsets", Index(split.test.size())}, {"queries", Index(bench.queries.size())},
      {"probe_train", learned.probe_train}, {"probe_accuracy", learned.probe_accuracy},
      {"recall_at_1", learned.retrieval.recall_at_1}, {"recall_at_10", learned.retrieval.recall_at_10},
      {"mrr", learned.retrieval.mrr}};
  if (c.baselines) {
    Rng fresh(c.seed);
    encoders::TextEncoder<float> untrained(eo, fresh);
    SentenceReport u = evaluate_sentences(bench, with_encoder(untrained), so);
    TfIdf tfidf = TfIdf::fit(bench.train_texts, 8192);
    SentenceReport t = evaluate_sentences(bench, [&](const std::vector<std::string>& texts) { return tfidf.transform(texts); }, so);
    for (auto& [name, rep] : {std::pair{"untrained", u}, std::pair{"tfidf", t}}) {
      std::string n(name);
      fields.push_back({n + "_probe_accuracy", rep.probe_accuracy});
      fields.push_back({n + "_recall_at_1", rep.retrieval.recall_at_1});
      fields.push_back({n + "_recall_at_10", rep.retrieval.recall_at_10});
      fields.push_back({n + "_mrr", rep.retrieval.mrr});
    }
  }
  examples::print_json(fields);
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  examples::CommandLine cli("text_wordnet", "Sentence embeddings on WordNet glosses, against TF-IDF");
  cli.option("--wordnet", c.wordnet, "folder of WordNet's data.noun, data.verb, data.adj, data.adv", true)
      .choice("--method", c.method, "pairs (example/lemma -> gloss) or simcse (dropout views)", {"pairs", "simcse"})
      .choice("--architecture", c.architecture, "text encoder", {"transformer", "bag"})
      .choices("--pairs", c.pairs, "the pairs method's positives, comma-separated: example (sentence -> gloss), "
               "lemma (lemmas -> gloss), hypernym (gloss -> its hypernym's gloss)", {"example", "lemma", "hypernym"})
      .choice("--tokenizer", c.tokenizer, "bpe (subwords), words or hashed (words and character n-grams)",
              {"bpe", "words", "hashed"})
      .option("--vocab", c.vocab, "vocabulary size of bpe and words", 16, 1 << 20)
      .option("--buckets", c.buckets, "hashed: hash buckets", 1, std::int64_t{1} << 30)
      .option("--max-length", c.max_length,
              "tokens kept per text (0: 32, or 512 for hashed, whose words are ~16 tokens)", 0, 4096)
      .option("--token-drop", c.token_views.drop, "token-level views: drop each token with this probability", 0.0, 1.0)
      .option("--token-crop", c.token_views.crop,
              "token-level views: keep a window of at least this share (1: no crop)", 1e-3, 1.0)
      .option("--token-swaps", c.token_views.swaps, "token-level views: swap this many random pairs", 0, 1 << 20)
      .option("--width", c.width, "model width", 8, 4096)
      .option("--layers", c.layers, "transformer layers", 1, 64)
      .option("--heads", c.heads, "attention heads", 1, 64)
      .option("--batch", c.batch, "pairs per batch", 2, 1 << 16)
      .option("--lr", c.lr, "AdamW learning rate (cosine schedule)", 1e-6, 1.0)
      .option("--temperature", c.temperature, "InfoNCE temperature", 1e-3, 10.0)
      .option("--dropout", c.dropout, "dropout", 0.0, 0.9)
      .option("--budget-seconds", c.budget, "training time (0: none)", 0.0, 1e7)
      .option("--max-steps", c.max_steps, "stop after this many steps (0: none)", 0, std::int64_t{1} << 40)
      .option("--limit", c.limit, "use only this many training synsets (0: all)", 0, std::int64_t{1} << 40)
      .option("--probe-limit", c.probe_limit, "train the probe on at most this many glosses (0: all)", 0, std::int64_t{1} << 40)
      .option("--threads", c.threads, "threads", 1, 1024)
      .option("--seed", c.seed, "seed of the split, the initialization and the batches", 0, ~std::uint64_t{0})
      .flag("--profile", c.profile, "time each op of the training steps (printed to stderr)")
      .flag("--baselines", c.baselines, "also evaluate an untrained encoder and TF-IDF (8,192 words)")
      .flag("--no-eval", c.no_eval, "benchmarks: skip the evaluation, print the training figures only")
      .option("--dump-batches", c.dump_batches,
              "benchmarks: write the first --max-steps (default 20) batches to DIR/batch_<i>.npy and exit");
  return cli.run(argc, argv, [&] { run(c); });
}
