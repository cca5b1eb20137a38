#pragma once

#include <string>

namespace rcbroker::node {

/// The environment variable naming the config file when --config does not.
inline constexpr const char* config_file_variable = "RCBROKER_CONFIG";

/// Where the installed package puts its config file.
inline constexpr const char* system_config_file = "/etc/rcbroker/caf-application.conf";

/// The config file a start reads, and why that one.
struct config_file_choice {
  std::string path;   ///< the file ("" when none was found: built-in defaults)
  bool required;      ///< named by the user: a file that cannot be read is an error
  std::string origin; ///< how it was chosen, for --check-config and the ready line
};

/// Looks for the config file as the tools' users expect: `flag` (--config) when given, then
/// $RCBROKER_CONFIG, then ./caf-application.conf, then /etc/rcbroker/caf-application.conf; none
/// of them readable means built-in defaults.
config_file_choice find_config_file(const std::string& flag);

/// "FILE (from ORIGIN)", or what was looked for when no file is read.
std::string describe(const config_file_choice& choice);

} // namespace rcbroker::node
