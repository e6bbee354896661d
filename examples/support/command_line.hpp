#pragma once
// The examples' command line and JSON output, compiled once (command_line.cpp) so that each example's own
// translation unit holds only simile code: CLI11 and nlohmann-json stay in this one file, private to the
// examples and never part of simile.

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace simile::examples {

/// An example's options, parsed with CLI11: every number range-checked (finite for reals), `--help`, and
/// one exit-status policy: 0 on success, 2 for a bad command line (naming the option), 1 for any other
/// failure (`example: what`).
class CommandLine {
 public:
  CommandLine(std::string name, std::string description);
  ~CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  /// An integer option that must lie in [lo, hi].
  CommandLine& option(const std::string& name, std::int64_t& value, const std::string& help, std::int64_t lo,
                      std::int64_t hi);
  CommandLine& option(const std::string& name, int& value, const std::string& help, int lo, int hi);
  CommandLine& option(const std::string& name, std::uint64_t& value, const std::string& help, std::uint64_t lo,
                      std::uint64_t hi);
  /// A real option that must be finite and lie in [lo, hi].
  CommandLine& option(const std::string& name, double& value, const std::string& help, double lo, double hi);
  /// A text option; with `existing_directory`, the folder must exist.
  CommandLine& option(const std::string& name, std::string& value, const std::string& help,
                      bool existing_directory = false);
  /// A text option that must be one of `choices`.
  CommandLine& choice(const std::string& name, std::string& value, const std::string& help,
                      const std::vector<std::string>& choices);
  /// A comma-separated list of values, each one of `choices` ("a,b").
  CommandLine& choices(const std::string& name, std::vector<std::string>& values, const std::string& help,
                       const std::vector<std::string>& choices);
  /// A flag without a value.
  CommandLine& flag(const std::string& name, bool& value, const std::string& help);

  /// Parses the command line, then runs `body`; returns the process's exit status.
  int run(int argc, char** argv, const std::function<void()>& body);

 private:
  std::string name_;
  std::unique_ptr<CLI::App> app_;
};

/// One field of a JSON line: a key and an integer, a real or a text.
struct JsonField {
  enum class Kind { integer, real, text };
  std::string key;
  Kind kind = Kind::real;
  std::int64_t integer = 0;
  double real = 0;
  std::string text;

  JsonField(std::string k, std::integral auto v) : key(std::move(k)), kind(Kind::integer), integer(v) {}
  JsonField(std::string k, std::floating_point auto v) : key(std::move(k)), kind(Kind::real), real(v) {}
  JsonField(std::string k, std::string v) : key(std::move(k)), kind(Kind::text), text(std::move(v)) {}
};

/// Prints `{"key": value, ...}` on one line to stdout, keys in the order given (NaN and infinity as null).
void print_json(std::span<const JsonField> fields);
inline void print_json(std::initializer_list<JsonField> fields) { print_json(std::span<const JsonField>(fields.begin(), fields.size())); }

}  // namespace simile::examples
