#pragma once
// A small command-line parser for the `simile` tool: `--name value` and `--flag`, every option
// declared with its help text, unknown options and bad values reported with the option's name.

#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "simile/core/error.hpp"

namespace simile::cli {

class Args {
 public:
  Args(std::vector<std::string> argv, std::string command) : argv_(std::move(argv)), command_(std::move(command)) {
    for (std::size_t i = 0; i < argv_.size(); ++i) {
      const std::string& a = argv_[i];
      check(a.rfind("--", 0) == 0 && a.size() > 2, command_, ": unexpected argument '", a, "' (options start with --)");
      std::string name = a.substr(2), value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < argv_.size() && argv_[i + 1].rfind("--", 0) != 0) {
        value = argv_[++i];
      } else {
        value = "";  // a flag
      }
      given_[name] = value;
    }
  }

  std::string str(const std::string& name, const std::string& def, const std::string& help) {
    declare(name, def, help);
    auto it = given_.find(name);
    if (it == given_.end()) return def;
    check(!it->second.empty(), command_, ": --", name, " needs a value");
    return it->second;
  }
  double num(const std::string& name, double def, const std::string& help) {
    std::string s = str(name, std::to_string(def), help);
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    check(end && *end == '\0' && !s.empty(), command_, ": --", name, " expects a number, got '", s, "'");
    return v;
  }
  std::int64_t integer(const std::string& name, std::int64_t def, const std::string& help) {
    std::string s = str(name, std::to_string(def), help);
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    check(end && *end == '\0' && !s.empty(), command_, ": --", name, " expects an integer, got '", s, "'");
    return v;
  }
  bool flag(const std::string& name, const std::string& help) {
    declare(name, "", help);
    auto it = given_.find(name);
    if (it == given_.end()) return false;
    check(it->second.empty(), command_, ": --", name, " takes no value, got '", it->second, "'");
    return true;
  }
  bool has(const std::string& name) const { return given_.count(name) != 0; }
  bool help() const { return given_.count("help") != 0; }

  /// Throws on options nobody declared (a typo must not be silently ignored).
  void finish() const {
    for (const auto& [name, v] : given_)
      check(name == "help" || declared_.count(name), command_, ": unknown option --", name, " (see --help)");
  }
  std::string usage() const {
    std::string s;
    for (const auto& [name, text] : help_) s += "  --" + name + text + "\n";
    return s;
  }

 private:
  void declare(const std::string& name, const std::string& def, const std::string& help) {
    if (declared_.insert(name).second)
      help_.emplace_back(name, (def.empty() ? std::string() : " (default " + def + ")") + "\n      " + help);
  }
  std::vector<std::string> argv_;
  std::string command_;
  std::map<std::string, std::string> given_;
  std::set<std::string> declared_;
  std::vector<std::pair<std::string, std::string>> help_;
};

}  // namespace simile::cli
