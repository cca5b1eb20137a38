#include "exposition_checker.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

namespace rcbroker::test_support {

namespace {

bool metric_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_' || s[0] == ':'))
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'))
      return false;
  return true;
}

bool label_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_'))
    return false;
  if (s.substr(0, 2) == "__")
    return false; // reserved for Prometheus itself
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

/// Unescapes HELP text (\\ and \n) or a label value (also \"); false on any other escape.
bool unescape(std::string_view in, bool label_value, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\') {
      if (label_value && (in[i] == '"' || in[i] == '\n'))
        return false;
      out += in[i];
      continue;
    }
    if (++i == in.size())
      return false;
    if (in[i] == '\\')
      out += '\\';
    else if (in[i] == 'n')
      out += '\n';
    else if (in[i] == '"' && label_value)
      out += '"';
    else
      return false;
  }
  return true;
}

bool parse_value(std::string_view text, double& out) {
  if (text == "+Inf") {
    out = HUGE_VAL;
    return true;
  }
  if (text == "-Inf") {
    out = -HUGE_VAL;
    return true;
  }
  if (text == "NaN") {
    out = std::nan("");
    return true;
  }
  if (text.empty())
    return false;
  std::string str{text};
  char* end = nullptr;
  out = std::strtod(str.c_str(), &end);
  return end == str.c_str() + str.size() &&
         str.find_first_not_of("0123456789.eE+-") == std::string::npos;
}

/// The family a sample belongs to, given the typed families so far.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  if (types.count(name))
    return name;
  for (auto suffix : {"_bucket", "_sum", "_count"}) {
    std::string_view s{suffix};
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      auto base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary"))
        return base;
    }
  }
  return {};
}

class reader {
public:
  exposition run(std::string_view text) {
    if (!text.empty() && text.back() != '\n')
      return fail_at(0, "the last line does not end with a newline");
    std::size_t line_no = 0;
    while (!text.empty()) {
      ++line_no;
      auto nl = text.find('\n');
      auto line = text.substr(0, nl);
      text.remove_prefix(nl + 1);
      if (!line_ok(line))
        return fail_at(line_no, error_);
    }
    if (!histograms_ok())
      return fail_at(0, error_);
    return std::move(result_);
  }

private:
  exposition fail_at(std::size_t line, const std::string& what) {
    exposition e;
    e.error = (line > 0 ? "line " + std::to_string(line) + ": " : "") + what;
    return e;
  }

  bool fail(std::string what) {
    error_ = std::move(what);
    return false;
  }

  bool line_ok(std::string_view line) {
    if (line.empty())
      return fail("empty line");
    if (line.front() == '#')
      return comment_ok(line);
    return sample_ok(line);
  }

  bool comment_ok(std::string_view line) {
    bool help = line.substr(0, 7) == "# HELP ";
    bool type = line.substr(0, 7) == "# TYPE ";
    if (!help && !type)
      return true; // a plain comment
    auto rest = line.substr(7);
    auto space = rest.find(' ');
    if (space == std::string_view::npos)
      return fail("HELP or TYPE without text");
    std::string name{rest.substr(0, space)};
    auto text = rest.substr(space + 1);
    if (!metric_name(name))
      return fail("bad metric name '" + name + "'");
    if (name != current_family_ && started_.count(name))
      return fail("family " + name + " is not contiguous");
    if (help) {
      std::string unescaped;
      if (!unescape(text, false, unescaped))
        return fail("bad escape in HELP of " + name);
      if (!result_.help.emplace(name, unescaped).second)
        return fail("second HELP for " + name);
    } else {
      static const std::set<std::string_view> kinds{"counter", "gauge", "histogram", "summary",
                                                    "untyped"};
      if (!kinds.count(text))
        return fail("unknown type '" + std::string{text} + "'");
      if (result_.types.count(name))
        return fail("second TYPE for " + name);
      if (sampled_.count(name))
        return fail("TYPE of " + name + " after its samples");
      if (text == "counter" && (name.size() < 6 || name.substr(name.size() - 6) != "_total"))
        return fail("counter " + name + " does not end in _total");
      result_.types.emplace(name, std::string{text});
    }
    enter_family(name);
    return true;
  }

  void enter_family(const std::string& name) {
    if (name != current_family_) {
      current_family_ = name;
      started_.insert(name);
    }
  }

  bool sample_ok(std::string_view line) {
    exposition_sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
      ++i;
    s.name = std::string{line.substr(0, i)};
    if (!metric_name(s.name))
      return fail("bad metric name '" + s.name + "'");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        auto eq = line.find('=', i);
        if (eq == std::string_view::npos)
          return fail("label without '='");
        std::string lname{line.substr(i, eq - i)};
        if (!label_name(lname))
          return fail("bad label name '" + lname + "'");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"')
          return fail("label value not quoted");
        auto start = ++i;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\')
            ++i;
          ++i;
        }
        if (i >= line.size())
          return fail("unterminated label value");
        std::string value;
        if (!unescape(line.substr(start, i - start), true, value))
          return fail("bad escape in label " + lname);
        ++i;
        if (!s.labels.emplace(lname, value).second)
          return fail("label " + lname + " twice");
        if (i < line.size() && line[i] == ',')
          ++i;
        else if (i >= line.size() || line[i] != '}')
          return fail("expected ',' or '}' after a label");
      }
    }
    if (i >= line.size() || line[i] != ' ')
      return fail("no value");
    auto rest = line.substr(i + 1);
    auto space = rest.find(' ');
    auto value_text = rest.substr(0, space);
    if (!parse_value(value_text, s.value))
      return fail("bad value '" + std::string{value_text} + "'");
    if (space != std::string_view::npos) {
      auto ts = rest.substr(space + 1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string_view::npos)
        return fail("bad timestamp");
    }
    auto family = family_of(s.name, result_.types);
    if (family.empty())
      return fail("sample " + s.name + " has no TYPE");
    if (family != current_family_)
      return fail("sample " + s.name + " is outside its family " + family);
    auto& type = result_.types.at(family);
    if (type == "counter" && !(s.value >= 0))
      return fail("counter " + s.name + " is negative or NaN");
    if (type == "histogram" && s.name == family)
      return fail("histogram " + family + " has a sample without suffix");
    if (type == "histogram" && s.name == family + "_bucket" && !s.labels.count("le"))
      return fail("bucket of " + family + " without le");
    std::string key = s.name;
    for (auto& [k, v] : s.labels)
      key += "\x1f" + k + "=" + v;
    if (!series_.insert(key).second)
      return fail("series " + s.name + " appears twice");
    sampled_.insert(family);
    result_.samples.push_back(std::move(s));
    return true;
  }

  /// Buckets cumulative, ascending le, +Inf bucket equal to _count, _sum present.
  bool histograms_ok() {
    for (auto& [family, type] : result_.types) {
      if (type != "histogram")
        continue;
      std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
      std::map<std::map<std::string, std::string>, double> counts;
      std::set<std::map<std::string, std::string>> sums;
      for (auto& s : result_.samples) {
        auto labels = s.labels;
        if (s.name == family + "_bucket") {
          double le = 0;
          if (!parse_value(labels.at("le"), le))
            return fail("bad le '" + labels.at("le") + "' in " + family);
          labels.erase("le");
          buckets[labels].emplace_back(le, s.value);
        } else if (s.name == family + "_count") {
          counts[labels] = s.value;
        } else if (s.name == family + "_sum") {
          sums.insert(labels);
        }
      }
      if (buckets.empty())
        return fail("histogram " + family + " has no buckets");
      for (auto& [labels, list] : buckets) {
        for (std::size_t i = 1; i < list.size(); ++i) {
          if (!(list[i].first > list[i - 1].first))
            return fail("buckets of " + family + " not in ascending le order");
          if (list[i].second < list[i - 1].second)
            return fail("buckets of " + family + " are not cumulative");
        }
        if (!std::isinf(list.back().first))
          return fail("histogram " + family + " has no +Inf bucket");
        if (!counts.count(labels) || counts.at(labels) != list.back().second)
          return fail("histogram " + family + ": _count differs from the +Inf bucket");
        if (!sums.count(labels))
          return fail("histogram " + family + " has no _sum");
      }
    }
    return true;
  }

  exposition result_;
  std::string error_;
  std::string current_family_;
  std::set<std::string> started_;
  std::set<std::string> sampled_;
  std::set<std::string> series_;
};

} // namespace

std::optional<double> exposition::value(const std::string& name,
                                        const std::map<std::string, std::string>& labels) const {
  for (auto& s : samples)
    if (s.name == name && s.labels == labels)
      return s.value;
  return std::nullopt;
}

exposition check_exposition(std::string_view text) {
  return reader{}.run(text);
}

} // namespace rcbroker::test_support
