// train, eval and embed: what each command does with the parts setup.cpp builds.

#include "commands.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>

#include "json.hpp"
#include "metrics_log.hpp"
#include "setup.hpp"

namespace simile::cli {

int train(const Options& o) {
  std::unique_ptr<Run> run = make_run(o);
  Trainer<float>& trainer = *run->trainer;
  Recipe<float>& recipe = *run->model.recipe;
  trainer.add_callback(std::make_shared<ProgressBar<float>>(o.log_every));
  if (!o.metrics.empty()) trainer.add_callback(std::make_shared<JsonLinesLog>(o.metrics, o.log_every));
  if (!o.resume.empty()) {
    trainer.load_checkpoint(o.resume);
    std::fprintf(stderr, "resumed from %s at step %lld (epoch %lld)\n", o.resume.c_str(), (long long)trainer.step(),
                 (long long)trainer.epoch() + 1);
  }
  TrainResult r = trainer.fit();
  std::fprintf(stderr, "trained %lld steps in %.1fs (%.0f samples/s), stopped by %s\n", (long long)r.steps_this_run,
               r.seconds, r.samples_per_second, r.stop_reason.c_str());
  if (o.profile)
    std::fprintf(stderr, "time per step over %lld steps (forward: time until the op's output existed):\n%s",
                 (long long)trainer.profiled_steps(), trainer.profile().format(trainer.profiled_steps()).c_str());
  if (!o.export_embeddings.empty()) {
    ThreadScope threads(o.threads);
    write_npy(o.export_embeddings, simile::embed(recipe.encoder(), run->data.test));
    std::fprintf(stderr, "wrote test-set representations to %s\n", o.export_embeddings.c_str());
  }
  Json j{{"method", o.method},
         {"encoder", o.encoder},
         {"epochs", number(double(r.steps) / double(run->source->num_batches()))},
         {"steps", r.steps},
         {"seconds", number(r.seconds)},
         {"samples_per_second", number(r.samples_per_second)},
         {"final_loss", number(r.final_loss)},
         {"threads", o.threads},
         {"batch", o.batch},
         {"seed", o.seed}};
  if (!o.no_eval) {
    ThreadScope threads(o.threads);
    auto t0 = std::chrono::steady_clock::now();
    MultiView v = views_for(o);
    EvaluationReport e = evaluate_encoder(recipe.encoder(), run->data.train, run->data.test, evaluation_options(o), &v);
    std::fprintf(stderr, "evaluated in %.1fs\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    add_report(j, e);
  }
  std::cout << j.dump() << std::endl;
  return 0;
}

int eval(Options o) {
  Data data = load_data(o);
  ThreadScope threads(o.threads);
  EvaluationReport e;
  std::string what;
  if (o.baseline == "raw") {
    auto pixels = [](const ImageDataset& d) {
      Loader<ImageDataset> l(d, {.batch_size = d.size(), .shuffle = false});
      Tensor<float> x = l.batch(0).data;
      return x.reshape({x.dim(0), x.numel() / x.dim(0)});
    };
    e = evaluate_features(pixels(data.train), data.train.labels(), pixels(data.test), data.test.labels(),
                          evaluation_options(o));
    what = "raw pixels";
  } else {
    TensorDict checkpoint;
    if (!o.checkpoint.empty()) {
      checkpoint = load_safetensors(o.checkpoint);
      apply_checkpoint_metadata(o, checkpoint.metadata);
    }
    Model m = build_model(o);
    if (!o.checkpoint.empty()) load_module(checkpoint, m.recipe->model());
    MultiView v = views_for(o);
    e = evaluate_encoder(m.recipe->encoder(), data.train, data.test, evaluation_options(o), &v);
    what = o.checkpoint.empty() ? "untrained " + o.encoder : o.checkpoint;
  }
  Json j{{"evaluated", what}, {"dim", e.dim}};
  add_report(j, e);
  std::cout << j.dump() << std::endl;
  return 0;
}

int embed(Options o) {
  TensorDict d = load_safetensors(o.checkpoint);
  apply_checkpoint_metadata(o, d.metadata);
  Model m = build_model(o);
  load_module(d, m.recipe->model());
  Data data = load_data(o);
  ThreadScope threads(o.threads);
  Tensor<float> h = simile::embed(m.recipe->encoder(), o.split == "test" ? data.test : data.train);
  write_npy(o.out, h);
  std::fprintf(stderr, "wrote %lld x %lld representations to %s\n", (long long)h.dim(0), (long long)h.dim(1), o.out.c_str());
  return 0;
}

}  // namespace simile::cli
