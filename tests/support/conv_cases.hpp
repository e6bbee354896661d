#pragma once
/// \file
/// Test convolutions shared by the conv2d tests (bfloat16, Winograd): a case (shapes, stride, padding,
/// bias), its random operands, one forward and backward pass through conv2d, magnitudes for rounding
/// bounds, and bitwise equality.

#include <cmath>
#include <cstring>
#include <string>

#include "simile/ops/conv.hpp"
#include "support/testing.hpp"

namespace simile::testing {

/// A test convolution: x [n, c, h, w], weight [o, c, k, k], stride s, padding p, with a bias or not.
struct ConvCase {
  Index n, c, h, w, o, k, s, p;
  bool bias;
  std::string name() const {
    return detail::str("x[", n, ",", c, ",", h, ",", w, "] w[", o, ",", c, ",", k, ",", k, "] s", s, " p", p,
                       bias ? " bias" : "");
  }
  /// Stride and padding on the oneDNN backend.
  Conv2dOptions onednn() const { return Conv2dOptions{s, p}.use_backend(ConvBackend::onednn); }
};

/// Output and gradients of one convolution.
template <class T>
struct ConvPass {
  Tensor<T> y, gx, gw, gb;
};

/// conv2d(x, w, b) and its backward with seed dy, on `options`.
template <class T>
ConvPass<T> conv_pass(const ConvCase& k, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b,
                      const Tensor<T>& dy, const Conv2dOptions& options) {
  Var<T> xv(x.clone(), true), wv(w.clone(), true), bv = k.bias ? Var<T>(b.clone(), true) : Var<T>();
  Var<T> y = conv2d(xv, wv, bv, options);
  Tensor<T> out = y.value().clone();
  y.backward(dy);
  return {out, xv.grad(), wv.grad(), k.bias ? bv.grad() : Tensor<T>()};
}

/// The operands of a test: x, w, b and the seed gradient dy, random in [-1, 1] (or integers in
/// [-4, 4] with `integers`, which bfloat16 holds exactly).
struct ConvOperands {
  Tensor<float> x, w, b, dy;
  ConvOperands(const ConvCase& k, std::uint64_t seed, bool integers = false) {
    x = random_tensor<float>({k.n, k.c, k.h, k.w}, seed);
    w = random_tensor<float>({k.o, k.c, k.k, k.k}, seed + 1);
    b = random_tensor<float>({k.o}, seed + 2);
    const Index oh = (k.h + 2 * k.p - k.k) / k.s + 1, ow = (k.w + 2 * k.p - k.k) / k.s + 1;
    dy = random_tensor<float>({k.n, k.o, oh, ow}, seed + 3);
    if (integers)
      for (Tensor<float>* t : {&x, &w, &b, &dy})
        for (float& v : t->span()) v = std::round(4.0f * v);
  }
};

/// |t| in double (operands of a rounding bound: the same sums over magnitudes).
inline Tensor<double> absolute(const Tensor<float>& t) {
  Tensor<double> r = t.to<double>();
  for (double& v : r.span()) v = std::abs(v);
  return r;
}

/// Same shape and the same bits (both undefined counts as equal).
inline bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined();
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()) == 0;
}

}  // namespace simile::testing
