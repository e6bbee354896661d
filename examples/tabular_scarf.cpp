// SCARF (Bahri, Jiang, Tay, Metzler 2022) on a real table: contrastive pretraining of an MLP encoder where a
// row's positive is the row with a random subset of its features replaced by draws from their empirical
// marginals. Then the linear probe (all labels, 10 % and 1 % of them) and kNN on the encoder's output,
// against the raw standardized features and an untrained encoder, through the same evaluation.
//
//   examples/data/letter_recognition.sh build/data/letter_recognition.csv    (once: LetterRecognition as CSV)
//   tabular_scarf --csv build/data/letter_recognition.csv [--budget-seconds 300] [--threads 2]
//
// The CSV: a header, numeric features, the integer label in the last column; the first --train rows train
// (the encoder and the probes), the next --test rows (by default all the rest) test.

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "simile/simile.hpp"
#include "support/command_line.hpp"

using namespace simile;

namespace {

struct Config {
  std::string csv = "build/data/letter_recognition.csv";
  std::int64_t train = 16000, test = 0, batch = 256, width = 256, depth = 4, max_steps = 0;
  double budget = 300, lr = 1e-3, temperature = 0.1, corruption = 0.6;
  int threads = 2;
  std::uint64_t seed = 0;
};

std::vector<Index> range(Index begin, Index end) {
  std::vector<Index> v;
  for (Index i = begin; i < end; ++i) v.push_back(i);
  return v;
}

void run(const Config& c) {
  VectorDataset all = read_csv(c.csv, {.header = true, .label_column = -1});
  if (!all.has_labels() || c.train >= all.size())
    throw ValueError(detail::str("--train: ", c.train, " training rows, but '", c.csv, "' has ", all.size(),
                                          " rows; some must be left to test"));
  if (c.test > all.size() - c.train)
    throw ValueError(detail::str("--test: ", c.test, " test rows, but '", c.csv, "' has ", all.size() - c.train,
                                 " rows after the ", c.train, " training rows"));
  const Index test_end = c.test > 0 ? c.train + c.test : all.size();
  VectorDataset train = subset(all, range(0, c.train)), test = subset(all, range(c.train, test_end));

  Rng rng(c.seed);
  auto make_encoder = [&](Rng& r) {
    auto e = std::make_shared<encoders::TabularEncoder<float>>(
        encoders::TabularEncoderOptions{.numeric = train.dim(), .hidden = std::vector<Index>(std::size_t(c.depth - 1), c.width),
                                        .output_dim = c.width},
        r);
    e->fit_standardization(train.features());
    return e;
  };
  auto encoder = make_encoder(rng);
  auto projector = std::make_shared<encoders::Mlp<float>>(encoders::MlpOptions{.sizes = {c.width, c.width, c.width}}, rng);
  DualEncoder<float> recipe("scarf", encoder, projector, {.temperature = c.temperature, .symmetric = false});

  VectorPipeline corrupt;
  corrupt.add(ScarfCorruption(train.features(), c.corruption));
  VectorViewSource source(Loader<VectorDataset>(train, {.batch_size = c.batch, .shuffle = true, .drop_last = true, .seed = c.seed}),
                          VectorMultiView({VectorPipeline{}, corrupt}));
  optim::Adam<float> adam(recipe.model().parameters(), {.lr = c.lr});
  Trainer<float> trainer(recipe, source, adam,
                         {.epochs = 100000, .max_steps = c.max_steps, .budget_seconds = c.budget, .threads = c.threads,
                          .cosine_lr = true});
  trainer.add_callback(std::make_shared<ProgressBar<float>>(200));
  TrainResult r = trainer.fit();

  ThreadScope scope(c.threads);
  EvaluationOptions eo{.seed = c.seed};
  eo.knn.k = 20;
  EvaluationReport learned = evaluate_features(embed(*encoder, train), train.labels(), embed(*encoder, test), test.labels(), eo);
  Rng fresh(c.seed);
  auto untrained = make_encoder(fresh);
  EvaluationReport u = evaluate_features(embed(*untrained, train), train.labels(), embed(*untrained, test), test.labels(), eo);
  EvaluationReport raw = evaluate_features(train.features(), train.labels(), test.features(), test.labels(), eo);
  std::vector<examples::JsonField> fields{{"steps", r.steps}, {"seconds", r.seconds}, {"rows_per_second", r.samples_per_second},
                                          {"final_loss", r.final_loss}};
  for (auto& [name, rep] : {std::pair{"scarf", learned}, std::pair{"untrained", u}, std::pair{"raw", raw}}) {
    std::string n(name);
    fields.push_back({n + "_linear_probe", rep.linear_probe_accuracy});
    fields.push_back({n + "_linear_probe_10pct", rep.linear_probe_10pct.value_or(0)});
    fields.push_back({n + "_linear_probe_1pct", rep.linear_probe_1pct.value_or(0)});
    fields.push_back({n + "_knn", rep.knn_accuracy});
  }
  examples::print_json(fields);
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  examples::CommandLine cli("tabular_scarf", "SCARF contrastive pretraining on a CSV table, against raw features");
  cli.option("--csv", c.csv, "CSV: header, numeric features, integer label last")
      .option("--train", c.train, "rows that train (the first ones)", 1, std::int64_t{1} << 40)
      .option("--test", c.test, "rows that test, after the training rows (0: all the rest)", 0, std::int64_t{1} << 40)
      .option("--batch", c.batch, "rows per batch", 2, 1 << 16)
      .option("--width", c.width, "encoder width", 4, 1 << 14)
      .option("--depth", c.depth, "encoder Linear layers", 1, 64)
      .option("--lr", c.lr, "Adam learning rate (cosine schedule)", 1e-7, 1.0)
      .option("--temperature", c.temperature, "InfoNCE temperature", 1e-3, 100.0)
      .option("--corruption", c.corruption, "fraction of features corrupted", 0.0, 1.0)
      .option("--budget-seconds", c.budget, "training time (0: none)", 0.0, 1e7)
      .option("--max-steps", c.max_steps, "stop after this many steps (0: none)", 0, std::int64_t{1} << 40)
      .option("--threads", c.threads, "threads", 1, 1024)
      .option("--seed", c.seed, "seed", 0, ~std::uint64_t{0});
  return cli.run(argc, argv, [&] { run(c); });
}
