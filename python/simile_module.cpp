// The Python module `simile` (pybind11): the tool's commands run in-process with keyword arguments for its
// options (train, eval, embed), embeddings of numpy images, checkpoints' metadata, and the losses as
// functions of numpy arrays returning their value and gradient. See the README's "From Python".
//
// Arrays: the results (embeddings, gradients) are numpy views of simile's own tensors, no copy; an input is
// copied once into simile's aligned storage, which owns its memory. Errors are Python exceptions:
// simile.Error and its subclasses ShapeError, ValueError, IoError, NumericError (simile's own) and
// BadArgument (an option that is unknown, out of range or does not fit the data), with simile's message.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <csignal>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tool.hpp"
#include "setup.hpp"
#include "simile/simile.hpp"

namespace py = pybind11;

namespace {

using simile::Index;
using simile::Tensor;

struct BadArgumentError : simile::Error {
  using simile::Error::Error;
};

// A tensor as a numpy array that keeps the tensor's storage alive: no copy.
template <class T>
py::array_t<T> to_numpy(Tensor<T> t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides(shape.size());
  py::ssize_t stride = sizeof(T);
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  T* data = t.data();
  auto* owner = new Tensor<T>(std::move(t));
  py::capsule keep(owner, [](void* p) { delete static_cast<Tensor<T>*>(p); });
  return py::array_t<T>(shape, strides, data, keep);
}

std::string shape_of(const py::array& a) {
  std::string s = "[";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + "]";
}

std::string dtype_of(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// The arguments of one of the tool's commands from keyword arguments: `max_steps=100` is --max-steps 100,
// `no_eval=True` the flag --no-eval (False leaves it out), None leaves the option out, a list or tuple gives
// the option several values (features=[a, b]).
std::vector<std::string> command_line(const std::string& command, const py::kwargs& kwargs) {
  std::vector<std::string> args{command};
  for (auto [key, value] : kwargs) {
    std::string name = "--" + key.cast<std::string>();
    std::replace(name.begin(), name.end(), '_', '-');
    if (value.is_none()) continue;
    if (py::isinstance<py::bool_>(value)) {
      if (value.cast<bool>()) args.push_back(name);
      continue;
    }
    if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
      args.push_back(name);
      for (auto v : value) args.push_back(py::str(v).cast<std::string>());
      continue;
    }
    args.push_back(name);
    args.push_back(py::str(value).cast<std::string>());
  }
  return args;
}

// Parses like the tool; a bad command line is a BadArgument with CLI11's message, naming the option.
void parse(simile::cli::Tool& tool, const std::string& command, const py::kwargs& kwargs) {
  tool.o.comm = simile::single_process();
  try {
    tool.parse(command_line(command, kwargs));
  } catch (const CLI::ParseError& e) {
    throw BadArgumentError(std::string("simile.") + command + ": " + e.what());
  }
}

py::object run_command(const std::string& command, const py::kwargs& kwargs) {
  simile::cli::Tool tool;
  parse(tool, command, kwargs);
  simile::cli::Outcome r;
  {
    py::gil_scoped_release free;
    r = tool.run();
  }
  if (r.status == 128 + SIGINT) throw py::error_already_set([] {
      PyErr_SetNone(PyExc_KeyboardInterrupt);
      return py::error_already_set();
    }());
  if (r.status != 0) throw simile::Error("simile." + command + ": stopped with status " + std::to_string(r.status));
  if (r.result.is_null()) return py::none();
  return py::module_::import("json").attr("loads")(r.result.dump());
}

py::array_t<float> embed(const std::string& checkpoint, std::optional<py::array> images, const py::kwargs& kwargs) {
  if (!images) {  // the data, as `simile embed` reads it
    simile::cli::Tool tool(false);
    py::dict args(kwargs);
    args["checkpoint"] = checkpoint;
    parse(tool, "embed", args);
    Tensor<float> h;
    {
      py::gil_scoped_release free;
      h = simile::cli::embeddings(tool.o);
    }
    return to_numpy(std::move(h));
  }
  // Images given: uint8 [N, 28, 28] or [N, 1, 28, 28], what the data files hold, as the tool reads them.
  py::array a = *images;
  if (!py::isinstance<py::array_t<std::uint8_t>>(a) || !a.dtype().is(py::dtype::of<std::uint8_t>()))
    throw py::type_error("simile.embed: images have dtype " + dtype_of(a) +
                         ", expected uint8 (pixels 0..255, as in the IDX files; from floats in [0, 1]: "
                         "(x * 255).round().astype(numpy.uint8))");
  const bool three = a.ndim() == 3, four = a.ndim() == 4 && a.shape(1) == 1;
  if (!(three || four) || a.shape(a.ndim() - 1) != 28 || a.shape(a.ndim() - 2) != 28)
    throw simile::ShapeError("simile.embed: images have shape " + shape_of(a) +
                             ", expected [N, 28, 28] or [N, 1, 28, 28] (28x28 gray, what the image encoders read)");
  Index threads = 2, batch = 512;
  for (auto [key, value] : kwargs) {
    const std::string k = key.cast<std::string>();
    if (k == "threads") threads = value.cast<Index>();
    else if (k == "batch") batch = value.cast<Index>();
    else
      throw BadArgumentError("simile.embed: '" + k + "' is not an option with images (threads, batch are)");
  }
  if (threads < 1 || threads > 1024) throw BadArgumentError("simile.embed: threads " + std::to_string(threads) + " must be in 1..1024");
  if (batch < 1) throw BadArgumentError("simile.embed: batch " + std::to_string(batch) + " must be >= 1");
  auto c = py::array_t<std::uint8_t, py::array::c_style>::ensure(a);  // a view when already C-contiguous
  const Index n = a.shape(0);
  Tensor<std::uint8_t> pixels = Tensor<std::uint8_t>::empty({n, 1, 28, 28});
  if (n > 0) std::memcpy(pixels.data(), c.data(), static_cast<std::size_t>(n) * 28 * 28);
  simile::cli::Options o;
  o.threads = static_cast<int>(threads);
  Tensor<float> h;
  {
    py::gil_scoped_release free;
    simile::cli::Model m = simile::cli::load_checkpoint_model(o, checkpoint);
    if (o.modality != "image")
      throw BadArgumentError("simile.embed: '" + checkpoint + "' is a " + o.modality +
                             " model; embed its data with data=... instead of images");
    simile::ThreadScope scope(o.threads);
    if (n == 0) h = Tensor<float>::empty({0, m.dim});  // no batch to run
    else
      h = simile::embed(m.recipe->encoder(), simile::ImageDataset(std::move(pixels)), batch);
  }
  return to_numpy(std::move(h));
}

// ---- losses -------------------------------------------------------------------------------------------

// A float32 or float64 array [rows, cols] (any layout) as a tensor of its dtype, copied once.
template <class T>
Tensor<T> matrix(const py::array& a, const char* loss, const char* name) {
  if (a.ndim() != 2)
    throw simile::ShapeError(std::string("simile.losses.") + loss + ": " + name + " has shape " + shape_of(a) +
                             ", expected a 2-D array [N, D]");
  auto c = py::array_t<T, py::array::c_style>::ensure(a);
  Tensor<T> t = Tensor<T>::empty({a.shape(0), a.shape(1)});
  if (t.numel() > 0) std::memcpy(t.data(), c.data(), static_cast<std::size_t>(t.numel()) * sizeof(T));
  return t;
}

bool is_double(const py::array& a, const char* loss, const char* name) {
  if (a.dtype().is(py::dtype::of<float>())) return false;
  if (a.dtype().is(py::dtype::of<double>())) return true;
  throw py::type_error(std::string("simile.losses.") + loss + ": " + name + " has dtype " + dtype_of(a) +
                       ", expected float32 or float64");
}

std::vector<std::int64_t> labels_of(const py::array& labels, const char* loss) {
  if (labels.ndim() != 1 || !(py::isinstance<py::array_t<std::int64_t>>(labels) || labels.dtype().kind() == 'i' ||
                              labels.dtype().kind() == 'u'))
    throw py::type_error(std::string("simile.losses.") + loss + ": labels have dtype " + dtype_of(labels) +
                         " and shape " + shape_of(labels) + ", expected integers [N]");
  auto c = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(labels);
  return {c.data(), c.data() + c.size()};
}

// Value and the gradients of the inputs: the loss over fresh leaves, then backward.
template <class T, class F>
py::tuple value_and_grads(int threads, std::vector<Tensor<T>> inputs, F&& loss) {
  std::vector<simile::Var<T>> leaves;
  double value = 0;
  {
    py::gil_scoped_release free;
    simile::ThreadScope scope(threads);
    for (auto& t : inputs) leaves.emplace_back(std::move(t), true);
    simile::Var<T> l = loss(leaves);
    l.backward();
    value = static_cast<double>(l.item());
  }
  py::tuple out(1 + leaves.size());
  out[0] = py::float_(value);
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    Tensor<T> g = leaves[i].grad();
    if (!g.defined()) g = Tensor<T>::zeros(leaves[i].shape());  // no gradient reached it: zeros
    out[i + 1] = to_numpy(std::move(g));
  }
  return out;
}

// One loss over 1 or 2 arrays [N, D] of one dtype, dispatched on it.
template <class F>
py::tuple dispatch(const char* loss, int threads, std::vector<std::pair<const char*, py::array>> arrays, F&& f) {
  std::vector<std::pair<const char*, const py::array*>> refs;
  for (auto& [n, a] : arrays) refs.emplace_back(n, &a);
  bool d = is_double(*refs[0].second, loss, refs[0].first);
  for (auto& [n, a] : refs)
    if (is_double(*a, loss, n) != d)
      throw py::type_error(std::string("simile.losses.") + loss + ": " + n + " has dtype " + dtype_of(*a) + " but " +
                           refs[0].first + " has " + dtype_of(*refs[0].second) + ": give them one dtype");
  if (threads < 1 || threads > 1024)
    throw BadArgumentError(std::string("simile.losses.") + loss + ": threads " + std::to_string(threads) + " must be in 1..1024");
  auto run = [&]<class T>(T) {
    std::vector<Tensor<T>> ts;
    for (auto& [n, a] : arrays) ts.push_back(matrix<T>(a, loss, n));
    return value_and_grads<T>(threads, std::move(ts), [&](std::vector<simile::Var<T>>& v) { return f(T(), v); });
  };
  return d ? run(double()) : run(float());
}

simile::PairDistance distance_of(const std::string& s, const char* loss) {
  if (s == "euclidean") return simile::PairDistance::euclidean;
  if (s == "cosine") return simile::PairDistance::cosine;
  throw BadArgumentError(std::string("simile.losses.") + loss + ": distance '" + s + "', expected euclidean or cosine");
}

}  // namespace

PYBIND11_MODULE(simile, m) {
  m.doc() = "simile: contrastive representation learning (SimCLR, MoCo, BYOL, ...) from Python";
  m.attr("__version__") = simile::simile_version;

  // Exceptions: simile's hierarchy, with its messages. Later registrations are tried first: subclasses last.
  static py::exception<simile::Error> error(m, "Error");
  static py::exception<simile::ShapeError> shape_error(m, "ShapeError", error.ptr());
  static py::exception<simile::ValueError> value_error(m, "ValueError", error.ptr());
  static py::exception<simile::IoError> io_error(m, "IoError", error.ptr());
  static py::exception<simile::NumericError> numeric_error(m, "NumericError", error.ptr());
  static py::exception<BadArgumentError> bad_argument(m, "BadArgument", error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const simile::cli::BadArgument& e) {
      PyErr_SetString(bad_argument.ptr(), e.what());
    } catch (const BadArgumentError& e) {
      PyErr_SetString(bad_argument.ptr(), e.what());
    } catch (const simile::ShapeError& e) {
      PyErr_SetString(shape_error.ptr(), e.what());
    } catch (const simile::ValueError& e) {
      PyErr_SetString(value_error.ptr(), e.what());
    } catch (const simile::IoError& e) {
      PyErr_SetString(io_error.ptr(), e.what());
    } catch (const simile::NumericError& e) {
      PyErr_SetString(numeric_error.ptr(), e.what());
    } catch (const simile::Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });

  m.def("train", [](const py::kwargs& kw) { return run_command("train", kw); },
        R"(Trains as `simile train` does, in this process, and returns its JSON object as a dict.

Keyword arguments are the tool's options with _ for -: max_steps=100 is --max-steps 100, no_eval=True the
flag --no-eval, checkpoint="run.safetensors" writes the checkpoint, export_embeddings="e.npy" the test set's
representations, quiet=True prints no progress. An option that is unknown or out of range raises
simile.BadArgument naming it; Ctrl-C stops after the current step (saving the checkpoint) and raises
KeyboardInterrupt.)");
  m.def("eval", [](const py::kwargs& kw) { return run_command("eval", kw); },
        "Evaluates as `simile eval` does (checkpoint=... or baseline=\"raw\"|\"untrained\"); returns the JSON object as a dict.");
  m.def("embed", &embed, py::arg("checkpoint"), py::arg("images") = py::none(),
        R"(Representations h of a checkpoint's encoder: numpy float32 [N, D].

images: uint8 [N, 28, 28] or [N, 1, 28, 28] (pixels 0..255, as in the IDX files); its keywords are
threads (default 2) and batch (512). Without images, the data as `simile embed` reads it, with its
options as keywords: split="test"|"train", data=..., limit=..., threads=...)");
  m.def("checkpoint_metadata", [](const std::string& path) {
        return simile::load_safetensors(path).metadata;
      }, py::arg("path"), "A checkpoint's metadata (method, encoder, widths, step, seed, ...) as a dict of strings.");

  py::module_ losses = m.def_submodule("losses", "simile's losses on numpy arrays: each returns (value, grad, ...)");
  py::module_::import("sys").attr("modules")["simile.losses"] = losses;

  losses.def("nt_xent", [](py::array z, double temperature, int threads) {
        return dispatch("nt_xent", threads, {{"z", z}}, [&]<class T>(T, auto& v) {
          return simile::nt_xent<T>(v[0], {.temperature = temperature});
        });
      }, py::arg("z"), py::arg("temperature") = 0.5, py::arg("threads") = 1,
      "NT-Xent (SimCLR) of z [2N, D], rows i and i + N the two views of sample i: (value, dL/dz).");
  losses.def("info_nce", [](py::array q, py::array k, std::optional<py::array> negatives, double temperature,
                            bool normalize, double tau_plus, double beta, int threads) {
        if (negatives && is_double(*negatives, "info_nce", "negatives") != is_double(q, "info_nce", "q"))
          throw py::type_error("simile.losses.info_nce: negatives have dtype " + dtype_of(*negatives) +
                               " but q has " + dtype_of(q) + ": give them one dtype");
        simile::InfoNceOptions opt{.temperature = temperature, .normalize = normalize, .tau_plus = tau_plus, .beta = beta};
        Tensor<float> neg_f;  // copied here, while the GIL is held
        Tensor<double> neg_d;
        if (negatives && is_double(q, "info_nce", "q")) neg_d = matrix<double>(*negatives, "info_nce", "negatives");
        else if (negatives) neg_f = matrix<float>(*negatives, "info_nce", "negatives");
        return dispatch("info_nce", threads, {{"q", q}, {"k", k}}, [&]<class T>(T, auto& v) {
          if (!negatives) return simile::info_nce<T>(v[0], v[1], opt);
          if constexpr (std::is_same_v<T, double>) return simile::info_nce<T>(v[0], v[1], neg_d, opt);
          else return simile::info_nce<T>(v[0], v[1], neg_f, opt);
        });
      }, py::arg("q"), py::arg("k"), py::arg("negatives") = py::none(), py::arg("temperature") = 0.07,
      py::arg("normalize") = true, py::arg("tau_plus") = 0.0, py::arg("beta") = 0.0, py::arg("threads") = 1,
      "InfoNCE of queries q and keys k [N, D] (positives k_i; negatives the other keys, or the rows of negatives [M, D]): (value, dL/dq, dL/dk).");
  losses.def("supcon", [](py::array z, py::array labels, double temperature, int threads) {
        std::vector<std::int64_t> l = labels_of(labels, "supcon");
        return dispatch("supcon", threads, {{"z", z}}, [&]<class T>(T, auto& v) {
          return simile::supcon<T>(v[0], l, {.temperature = temperature});
        });
      }, py::arg("z"), py::arg("labels"), py::arg("temperature") = 0.1, py::arg("threads") = 1,
      "Supervised contrastive loss of z [R, D] with one integer label a row: (value, dL/dz).");
  losses.def("triplet", [](py::array x, py::array labels, double margin, const std::string& distance,
                           const std::string& mining, bool average_nonzero, int threads) {
        std::vector<std::int64_t> l = labels_of(labels, "triplet");
        simile::TripletOptions opt{.margin = margin, .distance = distance_of(distance, "triplet"),
                                   .average_nonzero = average_nonzero};
        if (mining == "all") opt.mining = simile::TripletMining::all;
        else if (mining == "batch_hard") opt.mining = simile::TripletMining::batch_hard;
        else if (mining == "semi_hard") opt.mining = simile::TripletMining::semi_hard;
        else throw BadArgumentError("simile.losses.triplet: mining '" + mining + "', expected all, batch_hard or semi_hard");
        return dispatch("triplet", threads, {{"x", x}}, [&]<class T>(T, auto& v) {
          return simile::triplet_loss<T>(v[0], l, opt);
        });
      }, py::arg("x"), py::arg("labels"), py::arg("margin") = 0.2, py::arg("distance") = "euclidean",
      py::arg("mining") = "batch_hard", py::arg("average_nonzero") = false, py::arg("threads") = 1,
      "Triplet margin loss of x [N, D], triplets mined from the labels (all, batch_hard, semi_hard): (value, dL/dx).");
  losses.def("contrastive", [](py::array x, py::array pairs, double margin, const std::string& distance, int threads) {
        if (pairs.ndim() != 2 || pairs.shape(1) != 3 || !(pairs.dtype().kind() == 'i' || pairs.dtype().kind() == 'u'))
          throw py::type_error("simile.losses.contrastive: pairs have dtype " + dtype_of(pairs) + " and shape " +
                               shape_of(pairs) + ", expected integers [P, 3]: rows a, b and 1 for a positive pair");
        auto c = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(pairs);
        simile::PairSet set;
        for (py::ssize_t i = 0; i < c.shape(0); ++i)
          set.push_back({.a = c.at(i, 0), .b = c.at(i, 1), .same = c.at(i, 2) != 0});
        simile::ContrastiveOptions opt{.margin = margin, .distance = distance_of(distance, "contrastive")};
        return dispatch("contrastive", threads, {{"x", x}}, [&]<class T>(T, auto& v) {
          return simile::contrastive_loss<T>(v[0], set, opt);
        });
      }, py::arg("x"), py::arg("pairs"), py::arg("margin") = 1.0, py::arg("distance") = "euclidean", py::arg("threads") = 1,
      "Contrastive (margin) loss of x [N, D] over pairs [P, 3] (a, b, same): (value, dL/dx).");
  losses.def("negative_cosine", [](py::array p, py::array target, bool byol_form, int threads) {
        return dispatch("negative_cosine", threads, {{"p", p}, {"target", target}}, [&]<class T>(T, auto& v) {
          return simile::negative_cosine<T>(v[0], v[1], {.byol_form = byol_form});
        });
      }, py::arg("p"), py::arg("target"), py::arg("byol_form") = false, py::arg("threads") = 1,
      "Negative cosine similarity (SimSiam; BYOL's 2 - 2 cos with byol_form) of p and target [N, D], the target "
      "under stop-gradient: (value, dL/dp, dL/dtarget = zeros).");
  losses.def("barlow_twins", [](py::array z1, py::array z2, double lambda_, int threads) {
        return dispatch("barlow_twins", threads, {{"z1", z1}, {"z2", z2}}, [&]<class T>(T, auto& v) {
          return simile::barlow_twins<T>(v[0], v[1], {.lambda = lambda_});
        });
      }, py::arg("z1"), py::arg("z2"), py::arg("lambda_") = 5.1e-3, py::arg("threads") = 1,
      "Barlow Twins of the two views' projections z1, z2 [N, D]: (value, dL/dz1, dL/dz2).");
  losses.def("vicreg", [](py::array z1, py::array z2, double sim_coeff, double std_coeff, double cov_coeff, int threads) {
        return dispatch("vicreg", threads, {{"z1", z1}, {"z2", z2}}, [&]<class T>(T, auto& v) {
          return simile::vicreg<T>(v[0], v[1], {.sim_coeff = sim_coeff, .std_coeff = std_coeff, .cov_coeff = cov_coeff});
        });
      }, py::arg("z1"), py::arg("z2"), py::arg("sim_coeff") = 25.0, py::arg("std_coeff") = 25.0,
      py::arg("cov_coeff") = 1.0, py::arg("threads") = 1,
      "VICReg of z1, z2 [N, D]: (value, dL/dz1, dL/dz2).");
}
