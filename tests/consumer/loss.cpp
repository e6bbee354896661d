// The consumer's second translation unit. It includes the umbrella header as main.cpp does, so a
// definition in simile's headers that is not inline (a function, a variable, a specialization) is
// defined in both object files and the link fails: this file is the consumer's ODR check. It also runs
// something of its own, a loss, whose value is known in closed form.
#include <simile/simile.hpp>

#include <cmath>
#include <cstdio>
#include <string>

/// Failures of the checks in this translation unit (called from main.cpp).
int consumer_loss_checks() {
  using simile::Tensor;
  using simile::Var;
  int failures = 0;

  // NT-Xent at temperature 1 on two samples whose two views are identical unit vectors, orthogonal to the
  // other sample's: every row sees similarity 1 to its positive and 0 to its two negatives, so each row's
  // loss, hence the mean, is log(e + 2) - 1.
  Var<double> z(Tensor<double>::from({1, 0, 0, 1, 1, 0, 0, 1}, {4, 2}), true);
  Var<double> loss = simile::nt_xent(z, {.temperature = 1.0});
  const double want = std::log(std::exp(1.0) + 2) - 1;
  if (std::abs(loss.item() - want) > 1e-12) {
    ++failures;
    std::printf("FAIL nt_xent: got %.15g, want %.15g\n", loss.item(), want);
  }
  loss.backward();
  if (z.grad().shape() != z.shape()) {
    ++failures;
    std::printf("FAIL nt_xent: the gradient's shape differs from the input's\n");
  }

  // The configured version header agrees with itself.
  const std::string version = std::to_string(SIMILE_VERSION_MAJOR) + "." + std::to_string(SIMILE_VERSION_MINOR) + "." +
                              std::to_string(SIMILE_VERSION_PATCH);
  if (version != simile::simile_version) {
    ++failures;
    std::printf("FAIL simile_version \"%s\" disagrees with the SIMILE_VERSION_* macros (%s)\n", simile::simile_version,
                version.c_str());
  }
  return failures;
}
