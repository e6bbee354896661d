#pragma once
/// \file
/// Error types. Every bad input from a user (a shape, an option out of range, a file) throws an
/// exception derived from `simile::Error`, whose message names the function and the offending values:
/// `nt_xent: z has 255 rows, expected an even number (2 views x batch)`. These checks stay on in
/// release builds; internal invariants use `SIMILE_ASSERT`, which compiles out with NDEBUG.

#include <cassert>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace simile {

/// Base of every exception simile throws on bad input.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Shapes that do not fit an operation (mismatched, wrong rank, not broadcastable).
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// An option or argument outside its valid range.
class ValueError : public Error {
 public:
  using Error::Error;
};

/// A file that cannot be opened, read or written, or whose content is truncated or corrupted.
class IoError : public Error {
 public:
  using Error::Error;
};

/// Numerical failure detected at run time (a NaN or infinity where none may be).
class NumericError : public Error {
 public:
  using Error::Error;
};

namespace detail {
/// Concatenates its arguments with `operator<<` into one string.
template <class... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

/// Inside a `catch`: throws the simile exception in flight again, as the same type, with `context`
/// (e.g. "Trainer::load_checkpoint: 'run.st': ") before its message. Anything else is rethrown as is.
[[noreturn]] inline void rethrow_with_context(const std::string& context) {
  try {
    throw;
  } catch (const ShapeError& e) {
    throw ShapeError(context + e.what());
  } catch (const ValueError& e) {
    throw ValueError(context + e.what());
  } catch (const IoError& e) {
    throw IoError(context + e.what());
  } catch (const NumericError& e) {
    throw NumericError(context + e.what());
  } catch (const Error& e) {
    throw Error(context + e.what());
  }
}
}  // namespace detail

/// Throws `E` with the concatenation of `args` as its message when `cond` is false.
template <class E = ValueError, class... Args>
inline void check(bool cond, Args&&... args) {
  if (!cond) [[unlikely]]
    throw E(detail::str(std::forward<Args>(args)...));
}

}  // namespace simile

/// Internal invariant: compiled out in release builds. Never use it for user input.
#define SIMILE_ASSERT(cond) assert(cond)
