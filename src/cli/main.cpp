// `simile`: the command-line tool. Subcommands:
//   simile train  --method simclr|moco|byol|simsiam|barlow|supcon [options]  train, evaluate, print a JSON line
//   simile eval   --checkpoint PATH | --baseline raw|untrained              evaluate an encoder or a baseline
//   simile embed  --checkpoint PATH --out FILE.npy [--split test|train]      export representations h
// It uses only the public headers, like any user of the library.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "args.hpp"
#include "setup.hpp"

namespace simile::cli {
namespace {

void print_report_fields(std::string& json, const EvaluationReport& r) {
  json += ",\"linear_probe_accuracy\":" + detail::json_number(r.linear_probe_accuracy);
  json += ",\"knn_accuracy\":" + detail::json_number(r.knn_accuracy);
  json += ",\"linear_probe_1pct\":" + (r.linear_probe_1pct ? detail::json_number(*r.linear_probe_1pct) : "null");
  json += ",\"linear_probe_10pct\":" + (r.linear_probe_10pct ? detail::json_number(*r.linear_probe_10pct) : "null");
  json += ",\"alignment\":" + (r.alignment ? detail::json_number(*r.alignment) : "null");
  json += ",\"uniformity\":" + detail::json_number(r.uniformity);
  json += ",\"effective_rank\":" + detail::json_number(r.effective_rank);
}

int train(Args& args) {
  Setup s = Setup::from_args(args, true);
  if (args.help()) return std::cout << "simile train [options]\n" << args.usage(), 0;
  args.finish();
  Data data = load_data(s);
  Model m = build_model(s);
  auto opt = build_optimizer(s, m.recipe->model());
  ImageViewSource source(Loader<ImageDataset>(data.train, {.batch_size = s.batch, .shuffle = true, .drop_last = true,
                                                            .seed = s.seed}),
                         views_for(s));
  Trainer<float> trainer(*m.recipe, source, *opt, trainer_options(s));
  trainer.add_callback(std::make_shared<ProgressBar<float>>(s.log_every));
  if (!s.metrics.empty()) trainer.add_callback(std::make_shared<MetricsLog<float>>(s.metrics, s.log_every));
  if (!s.resume.empty()) {
    trainer.load_checkpoint(s.resume);
    std::fprintf(stderr, "resumed from %s at step %lld (epoch %lld)\n", s.resume.c_str(), (long long)trainer.step(),
                 (long long)trainer.epoch() + 1);
  }
  TrainResult r = trainer.fit();
  std::fprintf(stderr, "trained %lld steps in %.1fs (%.0f samples/s), stopped by %s\n", (long long)r.steps_this_run,
               r.seconds, r.samples_per_second, r.stop_reason.c_str());
  if (s.profile)
    std::fprintf(stderr, "time per step over %lld steps (forward: time until the op's output existed):\n%s",
                 (long long)trainer.profiled_steps(), trainer.profile().format(trainer.profiled_steps()).c_str());
  if (!s.export_embeddings.empty()) {
    ThreadScope threads(s.threads);
    write_npy(s.export_embeddings, embed(m.recipe->encoder(), data.test));
    std::fprintf(stderr, "wrote test-set representations to %s\n", s.export_embeddings.c_str());
  }
  std::string json = "{\"method\":" + detail::json_quote(s.method) + ",\"encoder\":" + detail::json_quote(s.encoder) +
                     ",\"epochs\":" + detail::json_number(double(r.steps) / double(source.num_batches())) +
                     ",\"steps\":" + std::to_string(r.steps) + ",\"seconds\":" + detail::json_number(r.seconds) +
                     ",\"samples_per_second\":" + detail::json_number(r.samples_per_second) +
                     ",\"final_loss\":" + detail::json_number(r.final_loss) + ",\"threads\":" + std::to_string(s.threads) +
                     ",\"batch\":" + std::to_string(s.batch) + ",\"seed\":" + std::to_string(s.seed);
  if (!s.no_eval) {
    ThreadScope threads(s.threads);
    auto t0 = std::chrono::steady_clock::now();
    MultiView v = views_for(s);
    EvaluationReport e = evaluate_encoder(m.recipe->encoder(), data.train, data.test, evaluation_options(s), &v);
    std::fprintf(stderr, "evaluated in %.1fs\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    print_report_fields(json, e);
  }
  std::cout << json << "}" << std::endl;
  return 0;
}

int eval(Args& args) {
  Setup s = Setup::from_args(args, false);
  std::string checkpoint = args.str("checkpoint", "", "checkpoint written by `simile train` to evaluate");
  std::string baseline = args.str("baseline", "", "raw (pixels) or untrained (the encoder at initialization)");
  if (args.help()) return std::cout << "simile eval [options]\n" << args.usage(), 0;
  args.finish();
  check(checkpoint.empty() != baseline.empty(), "eval: give exactly one of --checkpoint and --baseline");
  Data data = load_data(s);
  ThreadScope threads(s.threads);
  EvaluationReport e;
  std::string what;
  if (baseline == "raw") {
    auto pixels = [](const ImageDataset& d) {
      Loader<ImageDataset> l(d, {.batch_size = d.size(), .shuffle = false});
      Tensor<float> x = l.batch(0).data;
      return x.reshape({x.dim(0), x.numel() / x.dim(0)});
    };
    e = evaluate_features(pixels(data.train), data.train.labels(), pixels(data.test), data.test.labels(),
                          evaluation_options(s));
    what = "raw pixels";
  } else {
    check(baseline.empty() || baseline == "untrained", "eval: --baseline must be raw or untrained, got '", baseline, "'");
    if (!checkpoint.empty()) s.apply_checkpoint_metadata(load_safetensors(checkpoint).metadata);
    Model m = build_model(s);
    if (!checkpoint.empty()) load_module(load_safetensors(checkpoint), m.recipe->model());
    MultiView v = views_for(s);
    e = evaluate_encoder(m.recipe->encoder(), data.train, data.test, evaluation_options(s), &v);
    what = checkpoint.empty() ? "untrained " + s.encoder : checkpoint;
  }
  std::string json = "{\"evaluated\":" + detail::json_quote(what) + ",\"dim\":" + std::to_string(e.dim);
  print_report_fields(json, e);
  std::cout << json << "}" << std::endl;
  return 0;
}

int embed_cmd(Args& args) {
  Setup s = Setup::from_args(args, false);
  std::string checkpoint = args.str("checkpoint", "", "checkpoint written by `simile train`");
  std::string out = args.str("out", "", "output .npy file: float32 [N, D], dataset order");
  std::string split = args.str("split", "test", "test or train");
  if (args.help()) return std::cout << "simile embed [options]\n" << args.usage(), 0;
  args.finish();
  check(!checkpoint.empty() && !out.empty(), "embed: --checkpoint and --out are required");
  check(split == "test" || split == "train", "embed: --split must be test or train, got '", split, "'");
  TensorDict d = load_safetensors(checkpoint);
  s.apply_checkpoint_metadata(d.metadata);
  Model m = build_model(s);
  load_module(d, m.recipe->model());
  Data data = load_data(s);
  ThreadScope threads(s.threads);
  Tensor<float> h = embed(m.recipe->encoder(), split == "test" ? data.test : data.train);
  write_npy(out, h);
  std::fprintf(stderr, "wrote %lld x %lld representations to %s\n", (long long)h.dim(0), (long long)h.dim(1), out.c_str());
  return 0;
}

}  // namespace
}  // namespace simile::cli

int main(int argc, char** argv) {
  using namespace simile::cli;
  std::string usage =
      "usage: simile <command> [options]\n"
      "  train   train a self-supervised encoder on Fashion-MNIST, evaluate it, print one JSON line\n"
      "  eval    evaluate a checkpoint's encoder, or a baseline (--baseline raw|untrained)\n"
      "  embed   write an encoder's representations to a .npy file\n"
      "`simile <command> --help` lists the options.\n";
  if (argc < 2) return std::cerr << usage, 2;
  std::string cmd = argv[1];
  try {
    Args args(std::vector<std::string>(argv + 2, argv + argc), cmd);
    if (cmd == "train") return train(args);
    if (cmd == "eval") return eval(args);
    if (cmd == "embed") return embed_cmd(args);
    if (cmd == "--help" || cmd == "help") return std::cout << usage, 0;
    std::cerr << "simile: unknown command '" << cmd << "'\n" << usage;
    return 2;
  } catch (const simile::Error& e) {
    std::cerr << "simile " << cmd << ": " << e.what() << "\n";
    return 1;
  }
}
