#pragma once
/// \file
/// Checks a module's named parameters or buffers against the names and shapes PyTorch gives.

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "simile/core/shape.hpp"

namespace simile::testing {

using Expected = std::vector<std::pair<std::string, Shape>>;

/// The names of `named` (a module's named parameters, buffers or state dict), in order.
template <class Named>
std::vector<std::string> keys(const Named& named) {
  std::vector<std::string> out;
  for (auto& [name, v] : named) out.push_back(name);
  return out;
}

/// `got` (named parameters or buffers) lists exactly the names and shapes of `want`, in that order.
template <class Named>
::testing::AssertionResult names_are(const Named& got, const Expected& want) {
  std::size_t n = std::min(got.size(), want.size());
  for (std::size_t i = 0; i < n; ++i) {
    const Shape& shape = got[i].second.shape();  // a Var's or a Tensor's
    if (got[i].first != want[i].first || !(shape == want[i].second))
      return ::testing::AssertionFailure() << "entry " << i << ": got " << got[i].first << " " << shape
                                           << ", expected " << want[i].first << " " << want[i].second;
  }
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << got.size() << " entries, expected " << want.size()
                                         << (got.size() > n ? ", first extra: " + got[n].first : std::string());
  return ::testing::AssertionSuccess();
}

}  // namespace simile::testing
