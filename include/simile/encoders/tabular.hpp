#pragma once
/// \file
/// `TabularEncoder`: rows of a table to an embedding, the encoder of SCARF (Bahri et al. 2022). A row holds
/// `numeric` numeric features followed by one column per categorical feature holding its integer code; the
/// numeric ones are standardized with the training table's mean and standard deviation (kept as buffers, so
/// a checkpoint carries them), each categorical code is looked up in its own embedding table, and an MLP maps
/// the concatenation to h:
///   h = MLP([ (x_num - mean) / std,  E_1[c_1], ..., E_K[c_K] ]).
/// The input is data and receives no gradient.

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "simile/core/instantiate.hpp"
#include "simile/encoders/mlp.hpp"
#include "simile/nn/embedding.hpp"
#include "simile/nn/sequential.hpp"
#include "simile/ops/shape.hpp"

namespace simile::encoders {

/// Configuration of a `TabularEncoder`.
struct TabularEncoderOptions {
  Index numeric = 0;                   ///< numeric features, the first columns of a row
  std::vector<Index> categories;       ///< cardinality of each categorical column after them (codes 0..c-1)
  Index category_dim = 8;              ///< embedding width of each categorical feature
  std::vector<Index> hidden = {256, 256, 256};  ///< hidden widths of the MLP
  Index output_dim = 256;              ///< width of h
  bool batch_norm = true;              ///< BatchNorm1d after each hidden layer of the MLP
};

/// See the file comment. Input [B, numeric + categories.size()], output h [B, output_dim]. Buffers `mean`
/// and `std` [numeric] (0 and 1 until `fit_standardization`); children `categorical` (`categorical.0`, ...)
/// and `mlp` (`mlp.0.weight`, ...).
template <Real T>
class TabularEncoder : public nn::Cloneable<TabularEncoder<T>, T> {
 public:
  /// The embedding tables and the MLP of `o`, weights drawn from `rng`. Throws ValueError for a negative
  /// `numeric`, no feature at all, a non-positive width or a categorical column without categories.
  TabularEncoder(const TabularEncoderOptions& o, Rng& rng) : options_(o) {
    check<ValueError>(o.numeric >= 0 && o.category_dim > 0 && o.output_dim > 0, "TabularEncoder: numeric ",
                      o.numeric, ", category_dim ", o.category_dim, ", output_dim ", o.output_dim,
                      " (numeric >= 0, the others > 0)");
    check<ValueError>(o.numeric + static_cast<Index>(o.categories.size()) > 0, "TabularEncoder: no features");
    for (std::size_t k = 0; k < o.categories.size(); ++k)
      check<ValueError>(o.categories[k] > 0, "TabularEncoder: categorical column ", k, " has ", o.categories[k],
                        " categories");
    mean_ = this->register_buffer("mean", Tensor<T>::zeros({o.numeric}));
    std_ = this->register_buffer("std", Tensor<T>::ones({o.numeric}));
    auto tables = std::make_shared<nn::Sequential<T>>();
    for (Index c : o.categories)
      tables->push_back(std::make_shared<nn::Embedding<T>>(nn::EmbeddingOptions{c, o.category_dim}, rng));
    tables_ = this->register_module("categorical", tables);
    std::vector<Index> sizes{o.numeric + static_cast<Index>(o.categories.size()) * o.category_dim};
    sizes.insert(sizes.end(), o.hidden.begin(), o.hidden.end());
    sizes.push_back(o.output_dim);
    mlp_ = this->register_module("mlp", std::make_shared<Mlp<T>>(MlpOptions{.sizes = sizes, .batch_norm = o.batch_norm}, rng));
  }

  /// Sets the buffers from a training table [N, numeric + categorical] (its numeric columns): the mean and
  /// the standard deviation (population; a constant column gets 1 so that it maps to 0, not NaN).
  void fit_standardization(const Tensor<float>& table) {
    check_input("TabularEncoder::fit_standardization", table.shape());
    const Index N = table.dim(0), C = table.dim(1), F = options_.numeric;
    check<ValueError>(N > 0, "TabularEncoder::fit_standardization: empty table");
    T* mean = this->get(mean_).data();
    T* sd = this->get(std_).data();
    for (Index j = 0; j < F; ++j) {
      double s = 0, ss = 0;
      for (Index i = 0; i < N; ++i) s += table.data()[i * C + j];
      const double m = s / double(N);
      for (Index i = 0; i < N; ++i) {
        const double d = table.data()[i * C + j] - m;
        ss += d * d;
      }
      const double v = std::sqrt(ss / double(N));
      mean[j] = T(m);
      sd[j] = T(v > 1e-12 ? v : 1.0);
    }
  }

  Var<T> forward(const Var<T>& x) override {
    check_input("TabularEncoder", x.shape());
    const Index B = x.dim(0), C = x.dim(1), F = options_.numeric;
    const T* px = x.value().data();
    Tensor<T> numeric = Tensor<T>::empty({B, F});
    const T* mean = this->get(mean_).data();
    const T* sd = this->get(std_).data();
    for (Index i = 0; i < B; ++i)
      for (Index j = 0; j < F; ++j) numeric.data()[i * F + j] = (px[i * C + j] - mean[j]) / sd[j];
    if (options_.categories.empty()) return this->get(mlp_).forward(Var<T>(numeric));
    std::vector<Var<T>> parts{Var<T>(numeric)};
    nn::Sequential<T>& tables = this->get(tables_);
    for (std::size_t k = 0; k < options_.categories.size(); ++k) {
      Tensor<std::int32_t> codes = Tensor<std::int32_t>::empty({B});
      for (Index i = 0; i < B; ++i) {
        const T v = px[i * C + F + static_cast<Index>(k)];
        check<ValueError>(v >= 0 && v < T(options_.categories[k]) && std::floor(v) == v, "TabularEncoder: row ", i,
                          " categorical column ", k, " holds ", v, ", expected a code in [0, ", options_.categories[k], ")");
        codes.data()[i] = static_cast<std::int32_t>(v);
      }
      parts.push_back(static_cast<nn::Embedding<T>&>(tables[k]).lookup(codes));
    }
    return this->get(mlp_).forward(concat(parts, 1));
  }

  std::string type_name() const override { return "TabularEncoder"; }
  std::string extra_repr() const override {
    return simile::detail::str("numeric=", options_.numeric, ", categorical=", options_.categories.size(),
                               ", output_dim=", options_.output_dim);
  }
  /// The options it was built with.
  const TabularEncoderOptions& options() const { return options_; }
  /// D of the output [N, D].
  Index output_dim() const { return options_.output_dim; }

 private:
  void check_input(const char* who, const Shape& s) const {
    const Index C = options_.numeric + static_cast<Index>(options_.categories.size());
    check<ShapeError>(s.rank() == 2 && s[1] == C, who, ": input of shape ", s, ", expected [B, ", C, "] (",
                      options_.numeric, " numeric + ", options_.categories.size(), " categorical columns)");
  }

  TabularEncoderOptions options_;
  nn::BufferId mean_, std_;
  nn::ChildId<nn::Sequential<T>> tables_;
  nn::ChildId<Mlp<T>> mlp_;
};

/// The float and double specializations compiled into the library (see core/instantiate.hpp).
#define SIMILE_TEMPLATES_ENCODERS_TABULAR(P, T) \
  P template class TabularEncoder<T>;
SIMILE_EXTERN_TEMPLATES(SIMILE_TEMPLATES_ENCODERS_TABULAR)

}  // namespace simile::encoders
