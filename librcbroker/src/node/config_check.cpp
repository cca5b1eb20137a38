#include "rcbroker/node/config_check.hpp"

#include <algorithm>
#include <caf/actor_system_config.hpp>
#include <caf/config_option.hpp>
#include <caf/config_option_set.hpp>
#include <caf/config_value.hpp>
#include <fstream>
#include <set>
#include <sstream>

namespace rcbroker::node {

namespace {

using dictionary = caf::config_value::dictionary;

// CAF keeps its catalog of options protected: a subclass reads it. A fresh config holds every
// option CAF 0.17 registers (the middleman's included, whether or not it is loaded).
struct caf_catalog : caf::actor_system_config {
  const caf::config_option_set& options() const noexcept { return custom_options_; }
};

const caf::config_option_set& caf_options() {
  static const caf_catalog catalog;
  return catalog.options();
}

constexpr std::string_view global_category = "global";

/// The first `n` names of `path`, joined with dots.
std::string join(const std::vector<std::string>& path, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n && i < path.size(); ++i)
    out += (i > 0 ? "." : "") + path[i];
  return out;
}

std::string join_list(const std::vector<std::string>& names, const char* before = "",
                      const char* after = "") {
  std::string out;
  for (auto& name : names)
    out += (out.empty() ? "" : ", ") + (before + name + after);
  return out;
}

std::string_view trimmed(std::string_view s) {
  auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos)
    return {};
  auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    auto diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      auto above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// " (did you mean X?)" for the known name closest to a likely typo, else "".
std::string did_you_mean(std::string_view name, const std::vector<std::string>& known,
                         const char* before = "", const char* after = "") {
  const std::string* best = nullptr;
  std::size_t best_distance = 3; // more edits than 2 is another word, not a typo
  for (auto& candidate : known) {
    auto d = edit_distance(name, candidate);
    if (d < best_distance && d < candidate.size()) {
      best = &candidate;
      best_distance = d;
    }
  }
  return best ? std::string{" (did you mean "} + before + *best + after + "?)" : std::string{};
}

/// The sections of the file format: [broker] and every category of CAF's options.
std::vector<std::string> caf_sections() {
  std::set<std::string> names;
  for (auto& option : caf_options())
    if (option.category() != global_category)
      names.emplace(option.category().begin(), option.category().end());
  return {names.begin(), names.end()};
}

bool is_caf_section(const std::string& name) {
  for (auto& option : caf_options()) {
    auto category = option.category();
    if (category == name ||
        (category.size() > name.size() && category.compare(0, name.size(), name) == 0 &&
         category[name.size()] == '.'))
      return true;
  }
  return false;
}

std::vector<std::string> caf_keys(const std::string& category) {
  std::vector<std::string> keys;
  for (auto& option : caf_options())
    if (option.category() == category)
      keys.emplace_back(option.long_name().begin(), option.long_name().end());
  return keys;
}

/// How to write a value of CAF's `type`, where the file syntax is not obvious.
std::string example_of(const std::string& type) {
  if (type == "atom")
    return " (in single quotes, e.g. 'sharing')";
  if (type == "timespan")
    return " (a duration without quotes, e.g. 1s or 500ms)";
  if (type.find("int") != std::string::npos)
    return " (a number without quotes)";
  if (type.rfind("list of ", 0) == 0)
    return " (in brackets, e.g. ['a', 'b'] for atoms)";
  return {};
}

/// Walks the parsed file and stops at the first name nobody knows.
class name_checker {
public:
  name_checker(const std::string& file, const std::vector<std::string>& broker_keys)
      : file_(file), broker_keys_(broker_keys) {}

  std::string walk(const dictionary& entries) {
    for (auto& [name, value] : entries) {
      path_.push_back(name);
      auto err = check(value);
      path_.pop_back();
      if (!err.empty())
        return err;
    }
    return {};
  }

private:
  std::string check(const caf::config_value& value) {
    auto* nested = caf::get_if<dictionary>(&value);
    if (path_.size() == 1 && path_[0] == "broker")
      return nested ? check_broker(*nested) : std::string{}; // load_config_file says what is wrong
    if (auto* option = find_option())
      return check_value(*option, value);
    if (!nested || (path_.size() > 1 && is_caf_section(category()) && !is_caf_section(name())))
      return unknown(); // a key, or a key of a known section with a {...} value
    if (nested->empty() && !is_caf_section(name()))
      return unknown_section(name());
    return walk(*nested);
  }

  std::string check_broker(const dictionary& entries) {
    for (auto& [key, value] : entries) {
      if (std::find(broker_keys_.begin(), broker_keys_.end(), key) != broker_keys_.end())
        continue;
      return config_location(file_, {"broker", key}) + ": unknown setting broker." + key +
             did_you_mean(key, broker_keys_) +
             ": fix its name or remove it (rcbroker --help lists the keys of [broker])";
    }
    return {};
  }

  /// The whole path, dotted.
  std::string name() const { return join(path_, path_.size()); }

  /// The section a key of the path is in ("global" before any header).
  std::string category() const {
    return path_.size() == 1 ? std::string{global_category} : join(path_, path_.size() - 1);
  }

  const caf::config_option* find_option() const {
    return caf_options().qualified_name_lookup(category(), path_.back());
  }

  std::string check_value(const caf::config_option& option, const caf::config_value& value) {
    if (!option.check(value))
      return {};
    std::string type{option.type_name().begin(), option.type_name().end()};
    return config_location(file_, path_) + ": bad value for " + name() + ": expected " + type +
           example_of(type);
  }

  std::string unknown() const {
    auto where = config_location(file_, path_);
    auto& key = path_.back();
    auto cat = category();
    if (path_.size() == 1) {
      auto globals = caf_keys(cat);
      return where + ": unknown setting " + key + did_you_mean(key, globals) +
             ": a key before the first [section] header must be one of CAF's global keys (" +
             join_list(globals) + "); move it into its section or remove it";
    }
    if (!is_caf_section(cat)) {
      std::size_t known = 0; // names of the path that are sections, from the outside in
      while (is_caf_section(join(path_, known + 1)))
        ++known;
      return unknown_section(join(path_, known + 1));
    }
    auto keys = caf_keys(cat);
    return where + ": unknown setting " + cat + "." + key + did_you_mean(key, keys) +
           ": CAF's section [" + cat + "] has the keys " + join_list(keys) +
           "; fix its name or remove it";
  }

  std::string unknown_section(const std::string& section) const {
    auto sections = caf_sections();
    sections.insert(sections.begin(), "broker");
    auto what = section != name() ? "unknown setting " + name() + ": there is no section ["
                                  : std::string{"unknown section ["};
    return config_location(file_, path_) + ": " + what + section + "]" +
           did_you_mean(section, sections, "[", "]") + "; the sections are [broker] and CAF's " +
           join_list(caf_sections(), "[", "]") + "; fix the section's name or remove it";
  }

  const std::string& file_;
  const std::vector<std::string>& broker_keys_;
  std::vector<std::string> path_;
};

/// The lines of a config file's text, trimmed, with their numbers and the section they are in.
class line_reader {
public:
  explicit line_reader(std::string_view text) : rest_(text) {}

  /// Moves to the next line; false at the end.
  bool next() {
    if (rest_.empty())
      return false;
    auto end = rest_.find('\n');
    line_ = trimmed(rest_.substr(0, end));
    rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end + 1);
    ++number_;
    header_ = !line_.empty() && line_.front() == '[' && line_.find(']') != line_.npos;
    if (header_) {
      section_ = trimmed(line_.substr(1, line_.find(']') - 1));
      if (section_ == global_category)
        section_ = {};
    }
    return true;
  }

  std::string_view line() const noexcept { return line_; }
  std::size_t number() const noexcept { return number_; }
  bool is_header() const noexcept { return header_; }
  /// The name of the last header ("" before any, and for [global]).
  std::string_view section() const noexcept { return section_; }

private:
  std::string_view rest_;
  std::string_view line_;
  std::string_view section_;
  std::size_t number_ = 0;
  bool header_ = false;
};

/// The line of `key` in the section called `section` ("" before any header), 0 when absent.
std::size_t find_key(std::string_view text, std::string_view section, std::string_view key) {
  for (line_reader r{text}; r.next();) {
    if (r.is_header() || r.section() != section || r.line().compare(0, key.size(), key) != 0)
      continue;
    auto rest = trimmed(r.line().substr(key.size()));
    if (!rest.empty() && rest.front() == '=')
      return r.number();
  }
  return 0;
}

/// The line of the header `[section]`, 0 when absent.
std::size_t find_header(std::string_view text, std::string_view section) {
  for (line_reader r{text}; r.next();)
    if (r.is_header() && r.section() == section)
      return r.number();
  return 0;
}

} // namespace

std::string check_config_file(const std::string& file, const caf::settings& parsed,
                              const std::vector<std::string>& broker_keys) {
  return name_checker{file, broker_keys}.walk(parsed);
}

std::size_t config_line(std::string_view text, const std::vector<std::string>& path) {
  // The key in its section, else the key whose {...} value holds it, and so on outwards.
  for (auto n = path.size(); n-- > 0;)
    if (auto line = find_key(text, join(path, n), path[n]))
      return line;
  for (auto n = path.size(); n > 0; --n)
    if (auto line = find_header(text, join(path, n)))
      return line;
  return 0;
}

std::string config_location(const std::string& file, const std::vector<std::string>& path) {
  std::ifstream in{file};
  std::ostringstream text;
  text << in.rdbuf();
  auto line = config_line(text.str(), path);
  return line == 0 ? file : file + ":" + std::to_string(line);
}

} // namespace rcbroker::node
