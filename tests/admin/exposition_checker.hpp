#pragma once

// A strict reader of the Prometheus text exposition format (version 0.0.4) for tests: it refuses
// what Prometheus would refuse, and more (a sample without TYPE, a counter not named *_total, a
// histogram whose buckets do not add up), and gives back the samples to assert on.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::test_support {

/// One sample line.
struct exposition_sample {
  std::string name;
  std::map<std::string, std::string> labels; ///< unescaped values
  double value = 0;
};

/// What reading an exposition gave.
struct exposition {
  std::vector<exposition_sample> samples;
  std::map<std::string, std::string> types; ///< family name -> counter, gauge, histogram, ...
  std::map<std::string, std::string> help;  ///< family name -> unescaped HELP text
  std::string error;                        ///< empty when the text is valid

  bool ok() const { return error.empty(); }

  /// The value of the sample `name` with exactly `labels`, if present.
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const;
};

/// Reads `text` strictly; `error` names the first problem and its line.
exposition check_exposition(std::string_view text);

} // namespace rcbroker::test_support
