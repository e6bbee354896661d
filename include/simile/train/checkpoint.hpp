#pragma once
/// \file
/// Checkpoint contents, as safetensors (see `io/safetensors.hpp`):
/// - model parameters and buffers under their dotted names, exactly as PyTorch's `state_dict()` names
///   them, so an encoder trained here loads into the equivalent PyTorch module (`num_batches_tracked`
///   is stored as int64 as PyTorch keeps it);
/// - the optimizer under `train.optim.`: `steps` (I64), `lr` (F64, one per group), and each
///   per-parameter slot `train.optim.<index>.<slot>` (e.g. `3.exp_avg`) and counter `<index>.step` (I64);
/// - whatever the trainer and the recipe add under `train.` (step, epoch, MoCo queue, target network), and
///   the dropout layers' random streams under `train.rng.` (`save_random_streams`);
/// - metadata: recipe, seed, options, simile version.

#include <bit>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/io/safetensors.hpp"
#include "simile/nn/dropout.hpp"
#include "simile/nn/module.hpp"
#include "simile/optim/optimizer.hpp"
#include "simile/version.hpp"

namespace simile {

namespace detail {
inline bool is_counter_buffer(const std::string& name) { return name.ends_with("num_batches_tracked"); }

/// The first element of `t` that is not finite, or -1.
template <class T>
Index first_non_finite(const Tensor<T>& t) {
  for (Index i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t.data()[i])) return i;
  return -1;
}

/// The first element of `t` below zero (NaN excluded), or -1.
template <class T>
Index first_negative(const Tensor<T>& t) {
  for (Index i = 0; i < t.numel(); ++i)
    if (t.data()[i] < T(0)) return i;
  return -1;
}
}  // namespace detail

/// Adds `module`'s parameters and buffers to `dict` under `prefix` + their names.
template <Real T>
void save_module(TensorDict& dict, const nn::Module<T>& module, const std::string& prefix = "") {
  for (const auto& [name, p] : module.named_parameters()) dict.set(prefix + name, p.value().clone());
  for (const auto& [name, b] : module.named_buffers()) {
    if (detail::is_counter_buffer(name)) {
      Tensor<std::int64_t> c = Tensor<std::int64_t>::empty(b.shape());
      for (Index i = 0; i < b.numel(); ++i) c.data()[i] = static_cast<std::int64_t>(std::llround(b.data()[i]));
      dict.set(prefix + name, c);
    } else {
      dict.set(prefix + name, b.clone());
    }
  }
}

/// Copies every parameter and buffer of `module` from `dict` (names under `prefix`). Every one must be
/// present with its shape and element type, hold finite values, and for batch norm's `running_var` and
/// `num_batches_tracked` values >= 0: an IoError, ShapeError or NumericError names the first that does
/// not, and then nothing has been changed.
template <Real T>
void load_module(const TensorDict& dict, nn::Module<T>& module, const std::string& prefix = "") {
  std::vector<std::pair<Tensor<T>, Tensor<T>>> copies;  // (source, destination), checked before any copy
  auto take = [&](const std::string& name, const Tensor<T>& dst) {
    const std::string key = prefix + name;
    const AnyTensor* any = dict.find(key);
    check<IoError>(any != nullptr, "load_module: checkpoint has no tensor '", key, "'");
    Tensor<T> src;
    if (auto* c = std::get_if<Tensor<std::int64_t>>(any); c && detail::is_counter_buffer(name)) {
      Index bad = detail::first_negative(*c);
      check<NumericError>(bad < 0, "load_module: tensor '", key, "' holds the negative count ",
                          bad < 0 ? 0 : c->data()[bad]);
      src = c->template to<T>();
    } else {
      auto* t = std::get_if<Tensor<T>>(any);
      check<IoError>(t != nullptr, "load_module: tensor '", key, "' is ", TensorDict::dtype_name(*any), ", expected ",
                     TensorDict::dtype_of<T>());
      src = *t;
    }
    check<ShapeError>(src.shape() == dst.shape(), "load_module: tensor '", key, "' has shape ", src.shape(),
                      ", the module expects ", dst.shape());
    Index bad = detail::first_non_finite(src);
    check<NumericError>(bad < 0, "load_module: tensor '", key, "' holds ", bad < 0 ? T(0) : src.data()[bad],
                        " at element ", bad);
    if (name.ends_with("running_var") || detail::is_counter_buffer(name)) {
      bad = detail::first_negative(src);
      check<NumericError>(bad < 0, "load_module: tensor '", key, "' holds the negative value ",
                          bad < 0 ? T(0) : src.data()[bad], " at element ", bad);
    }
    copies.emplace_back(src, dst);
  };
  for (const auto& [name, p] : module.named_parameters()) take(name, p.value());
  for (const auto& [name, b] : module.named_buffers()) take(name, b);
  for (auto& [src, dst] : copies) src.copy_to(dst);
}

/// Adds `opt`'s state to `dict` under `prefix` (default `train.optim.`).
template <Real T>
void save_optimizer(TensorDict& dict, const optim::Optimizer<T>& opt, const std::string& prefix = "train.optim.") {
  optim::OptimizerState<T> s = opt.state();
  dict.set(prefix + "steps", Tensor<std::int64_t>::scalar(s.steps));
  dict.set(prefix + "lr", Tensor<double>::from(s.lr, {static_cast<Index>(s.lr.size())}));
  for (auto& [key, t] : s.tensors) dict.set(prefix + key, t);
  for (auto& [key, n] : s.counters) dict.set(prefix + key, Tensor<std::int64_t>::scalar(n));
}

/// Restores `opt`'s state from `dict` (names under `prefix`); the optimizer validates it.
template <Real T>
void load_optimizer(const TensorDict& dict, optim::Optimizer<T>& opt, const std::string& prefix = "train.optim.") {
  optim::OptimizerState<T> s;
  s.steps = dict.get<std::int64_t>(prefix + "steps").item();
  Tensor<double> lr = dict.get<double>(prefix + "lr");
  s.lr.assign(lr.begin(), lr.end());
  for (const auto& [name, any] : dict.items()) {
    if (name.rfind(prefix, 0) != 0) continue;
    std::string key = name.substr(prefix.size());
    if (key == "steps" || key == "lr") continue;
    if (auto* t = std::get_if<Tensor<T>>(&any)) s.tensors.emplace_back(key, *t);
    else if (auto* c = std::get_if<Tensor<std::int64_t>>(&any)) s.counters.emplace_back(key, c->item());
    else
      throw IoError(simile::detail::str("load_optimizer: tensor '", name, "' has unexpected dtype ",
                                        TensorDict::dtype_name(any)));
  }
  opt.load_state(s);
}

/// The `Dropout` layers of `model` and below, by dotted path ("encoder.dropout"), in registration order.
template <Real T>
std::vector<std::pair<std::string, nn::Dropout<T>*>> dropout_layers(nn::Module<T>& model) {
  std::vector<std::pair<std::string, nn::Dropout<T>*>> out;
  auto walk = [&out](auto& self, nn::Module<T>& m, const std::string& path) -> void {
    if (auto* d = dynamic_cast<nn::Dropout<T>*>(&m)) out.emplace_back(path, d);
    for (auto& [name, child] : m.named_children()) self(self, *child, path.empty() ? name : path + "." + name);
  };
  walk(walk, model, "");
  return out;
}

/// Adds the random stream of every dropout layer of `model` to `dict`: `<prefix><path>`, int64 [2] (the
/// stream's key and counter, bit for bit), so that a resumed run draws the masks the uninterrupted run
/// would have drawn. A model without dropout adds nothing.
template <Real T>
void save_random_streams(TensorDict& dict, nn::Module<T>& model, const std::string& prefix = "train.rng.") {
  for (auto& [path, layer] : dropout_layers(model)) {
    const RngState st = layer->rng().state();
    dict.set(prefix + path, Tensor<std::int64_t>::from({std::bit_cast<std::int64_t>(st.key),
                                                        std::bit_cast<std::int64_t>(st.counter)}, {2}));
  }
}

/// Restores the streams `save_random_streams` wrote. Every dropout layer's entry must be present with shape
/// [2] (ValueError or ShapeError naming it otherwise); nothing changes unless all are.
template <Real T>
void load_random_streams(const TensorDict& dict, nn::Module<T>& model, const std::string& prefix = "train.rng.") {
  std::vector<std::pair<nn::Dropout<T>*, RngState>> streams;
  for (auto& [path, layer] : dropout_layers(model)) {
    const std::string key = prefix + path;
    Tensor<std::int64_t> t = dict.get<std::int64_t>(key);
    check<ShapeError>(t.shape() == Shape{2}, "load_random_streams: '", key, "' has shape ", t.shape(), ", expected [2]");
    streams.emplace_back(layer, RngState{std::bit_cast<std::uint64_t>(t.data()[0]), std::bit_cast<std::uint64_t>(t.data()[1])});
  }
  for (auto& [layer, st] : streams) layer->rng() = Rng(st);
}

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_TRAIN_CHECKPOINT(P, T)                                                                    \
  P template void save_module<T>(TensorDict & dict, const nn::Module<T>& module, const std::string& prefix);       \
  P template void load_module<T>(const TensorDict& dict, nn::Module<T>& module, const std::string& prefix);        \
  P template void save_optimizer<T>(TensorDict & dict, const optim::Optimizer<T>& opt, const std::string& prefix); \
  P template void load_optimizer<T>(const TensorDict& dict, optim::Optimizer<T>& opt, const std::string& prefix);    \
  P template std::vector<std::pair<std::string, nn::Dropout<T>*>> dropout_layers<T>(nn::Module<T> & model);          \
  P template void save_random_streams<T>(TensorDict & dict, nn::Module<T> & model, const std::string& prefix);     \
  P template void load_random_streams<T>(const TensorDict& dict, nn::Module<T>& model, const std::string& prefix);
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_TRAIN_CHECKPOINT)

}  // namespace simile
