#pragma once
// A registry: one table of named parts of one kind (methods, encoders, optimizers), each entry a name, a
// line of description and a factory. The same table validates the option (`CLI::IsMember`), writes its
// `--help` text and builds the part, so adding a method is adding one line to its table in setup.cpp.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "simile/core/error.hpp"

namespace simile::cli {

/// What option parsing needs of a registry: the names and their help text, without the library types
/// the factories use (so the parser's translation unit does not include the library).
struct Choices {
  std::vector<std::string> names;
  std::string help;  ///< one "name: description" line per entry
};

template <class Factory>
struct Entry {
  std::string name;
  std::string description;
  Factory make;
};

template <class Factory>
class Registry {
 public:
  /// `kind` names the option in messages ("--method").
  Registry(std::string kind, std::vector<Entry<Factory>> entries) : kind_(std::move(kind)), entries_(std::move(entries)) {}

  /// The factory registered as `name`; a ValueError listing the choices for any other name.
  const Factory& at(const std::string& name) const {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry<Factory>& e) { return e.name == name; });
    check(it != entries_.end(), kind_, ": unknown value '", name, "' (choose from ", joined(), ")");
    return it->make;
  }
  bool contains(const std::string& name) const {
    return std::any_of(entries_.begin(), entries_.end(), [&](const Entry<Factory>& e) { return e.name == name; });
  }
  Choices choices() const {
    Choices c;
    for (const auto& e : entries_) {
      c.names.push_back(e.name);
      c.help += "\n  " + e.name + ": " + e.description;
    }
    return c;
  }

 private:
  std::string joined() const {
    std::string s;
    for (const auto& e : entries_) s += (s.empty() ? "" : ", ") + e.name;
    return s;
  }
  std::string kind_;
  std::vector<Entry<Factory>> entries_;
};

// The three tables' choices (defined with the tables in setup.cpp).
Choices method_choices();
Choices encoder_choices();
Choices optimizer_choices();

}  // namespace simile::cli
