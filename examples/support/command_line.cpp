// CLI11 and nlohmann-json for the examples, compiled once (see command_line.hpp).
#include "command_line.hpp"

#include <CLI/CLI.hpp>

#include <cmath>
#include <exception>
#include <iostream>
#include <nlohmann/json.hpp>

namespace simile::examples {

CommandLine::CommandLine(std::string name, std::string description)
    : name_(std::move(name)), app_(std::make_unique<CLI::App>(std::move(description), name_)) {}

CommandLine::~CommandLine() = default;

CommandLine& CommandLine::option(const std::string& name, std::int64_t& value, const std::string& help,
                                 std::int64_t lo, std::int64_t hi) {
  app_->add_option(name, value, help)->capture_default_str()->check(CLI::Range(lo, hi));
  return *this;
}

CommandLine& CommandLine::option(const std::string& name, int& value, const std::string& help, int lo, int hi) {
  app_->add_option(name, value, help)->capture_default_str()->check(CLI::Range(lo, hi));
  return *this;
}

CommandLine& CommandLine::option(const std::string& name, std::uint64_t& value, const std::string& help,
                                 std::uint64_t lo, std::uint64_t hi) {
  app_->add_option(name, value, help)->capture_default_str()->check(CLI::Range(lo, hi));
  return *this;
}

CommandLine& CommandLine::option(const std::string& name, double& value, const std::string& help, double lo,
                                 double hi) {
  // CLI::Range lets NaN through (every comparison with it is false): finiteness is checked first.
  app_->add_option(name, value, help)
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& s) {
            double v = 0;
            return CLI::detail::lexical_cast(s, v) && std::isfinite(v) ? std::string() : "must be a finite number";
          },
          "FINITE"))
      ->check(CLI::Range(lo, hi));
  return *this;
}

CommandLine& CommandLine::option(const std::string& name, std::string& value, const std::string& help,
                                 bool existing_directory) {
  CLI::Option* o = app_->add_option(name, value, help)->capture_default_str();
  if (existing_directory) o->check(CLI::ExistingDirectory);
  return *this;
}

CommandLine& CommandLine::choice(const std::string& name, std::string& value, const std::string& help,
                                 const std::vector<std::string>& choices) {
  app_->add_option(name, value, help)->capture_default_str()->check(CLI::IsMember(choices));
  return *this;
}

CommandLine& CommandLine::choices(const std::string& name, std::vector<std::string>& values, const std::string& help,
                                  const std::vector<std::string>& choices) {
  app_->add_option(name, values, help)->delimiter(',')->capture_default_str()->check(CLI::IsMember(choices));
  return *this;
}

CommandLine& CommandLine::flag(const std::string& name, bool& value, const std::string& help) {
  app_->add_flag(name, value, help);
  return *this;
}

int CommandLine::run(int argc, char** argv, const std::function<void()>& body) {
  try {
    app_->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app_->exit(e);  // --help
    std::cerr << name_ << ": " << e.what() << "\n";
    return 2;
  }
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << name_ << ": " << e.what() << "\n";
  } catch (...) {
    std::cerr << name_ << ": unknown exception\n";
  }
  return 1;
}

void print_json(std::span<const JsonField> fields) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const JsonField& f : fields) {
    switch (f.kind) {
      case JsonField::Kind::integer: j[f.key] = f.integer; break;
      case JsonField::Kind::real: j[f.key] = std::isfinite(f.real) ? nlohmann::ordered_json(f.real) : nullptr; break;
      case JsonField::Kind::text: j[f.key] = f.text; break;
    }
  }
  std::cout << j.dump() << std::endl;
}

}  // namespace simile::examples
