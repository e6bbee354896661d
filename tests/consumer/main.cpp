// An outside program using simile through its installed headers only: a matrix product and its
// backward pass checked against values computed by hand, a gradcheck of a small composite, and the
// error a user gets for mismatched shapes; and, from a second translation unit that includes the same
// umbrella header (loss.cpp, so the program links only if simile's headers hold no ODR violation), a
// loss. Exit status 0 only when every check holds.
#include <simile/simile.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

int consumer_loss_checks();  // loss.cpp

namespace {

int failures = 0;

void expect_tensor(const char* what, const simile::Tensor<float>& got, const std::vector<float>& want) {
  bool ok = got.numel() == static_cast<simile::Index>(want.size());
  for (std::size_t i = 0; ok && i < want.size(); ++i) ok = std::abs(got.data()[i] - want[i]) <= 1e-5f;
  if (ok) return;
  ++failures;
  std::printf("FAIL %s: got", what);
  for (float v : got.span()) std::printf(" %g", static_cast<double>(v));
  std::printf(", want");
  for (float v : want) std::printf(" %g", static_cast<double>(v));
  std::printf("\n");
}

}  // namespace

int main() {
  using simile::Tensor;
  using simile::Var;
  simile::set_num_threads(2);

  // L = sum((A W) * (A W)); dL/dC = 2C, dW = A^T dC, dA = dC W^T (all worked out by hand).
  Var<float> a(Tensor<float>::from({1, 2, 3, 4, 5, 6}, {2, 3}), true);
  Var<float> w(Tensor<float>::from({0.5f, -1, 1, 0.5f, -0.5f, 1}, {3, 2}), true);
  Var<float> c = simile::matmul(a, w);
  Var<float> loss = simile::sum(c * c);
  expect_tensor("C = A W", c.value(), {1, 3, 4, 4.5f});
  expect_tensor("L", loss.value(), {46.25f});
  loss.backward();
  expect_tensor("dL/dW", w.grad(), {34, 42, 44, 57, 54, 72});
  expect_tensor("dL/dA", a.grad(), {-5, 5, 5, -5, 12.5f, 5});

  // The same machinery in double against finite differences, through the public gradcheck.
  auto f = [](const std::vector<Var<double>>& x) { return simile::tanh(simile::matmul(x[0], x[1], false, true)); };
  simile::Rng rng(7);
  auto random = [&](simile::Shape shape) {
    Tensor<double> t = Tensor<double>::empty(shape);
    for (double& v : t.span()) v = rng.uniform(-1.0, 1.0);
    return Var<double>(t, true);
  };
  simile::GradcheckResult r = simile::gradcheck(f, {random({4, 7}), random({5, 7})});
  if (!r.ok) {
    ++failures;
    std::printf("FAIL %s\n", r.message().c_str());
  }

  // Bad shapes surface as simile::ShapeError naming the op, never as an abort.
  try {
    simile::matmul(a, a);
    ++failures;
    std::printf("FAIL matmul of [2, 3] by [2, 3] did not throw\n");
  } catch (const simile::ShapeError& e) {
    if (std::string(e.what()).find("matmul") == std::string::npos) {
      ++failures;
      std::printf("FAIL unexpected message: %s\n", e.what());
    }
  }

  failures += consumer_loss_checks();

  std::printf("simile_consumer %s: %s (%d failure%s; gradcheck: %s)\n", simile::simile_version,
              failures ? "FAILED" : "ok", failures, failures == 1 ? "" : "s", r.message().c_str());
  return failures == 0 ? 0 : 1;
}
