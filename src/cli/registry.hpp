#pragma once
// A registry: one table of named parts of one kind (methods, encoders, optimizers), each entry a name, the
// modality it is for (image, text, table; empty: any), a line of description and a factory. The same table
// validates the option (`CLI::IsMember`) and its fit with --modality, writes its
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
  std::vector<std::string> modalities;  ///< of each name: "image", "text", "table", or empty (any)
  std::string help;  ///< one "name (modality): description" line per entry

  /// The modality of `name` (empty: any, or not a name).
  std::string modality(const std::string& name) const {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return modalities[i];
    return {};
  }
  /// The names for `modality` (and those for any), comma-separated.
  std::string names_for(const std::string& modality) const {
    std::string s;
    for (std::size_t i = 0; i < names.size(); ++i)
      if (modalities[i].empty() || modalities[i] == modality) s += (s.empty() ? "" : ", ") + names[i];
    return s;
  }
};

template <class Factory>
struct Entry {
  std::string name;
  std::string modality;  ///< "image", "text", "table", or empty (any)
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
      c.modalities.push_back(e.modality);
      c.help += "\n  " + e.name + (e.modality.empty() ? "" : " (" + e.modality + ")") + ": " + e.description;
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

/// What is wrong with a serialized text tokenizer (a checkpoint's metadata), empty when nothing is
/// (defined in setup.cpp, so that the option parser does not include the library).
std::string tokenizer_problem(const std::string& text);

}  // namespace simile::cli
