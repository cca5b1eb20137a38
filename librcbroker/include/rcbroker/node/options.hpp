#pragma once

#include "rcbroker/node/settings.hpp"

#include <string>
#include <vector>

namespace rcbroker::node {

/// The node's command line, split into the broker's own options and CAF's.
struct command_line {
  bool help = false;
  bool version = false;            ///< --version: print the version, exit
  bool check_config = false;       ///< --check-config: validate, print the settings, exit
  std::string config_file;         ///< from --config; empty: the default file
  std::vector<std::string> serve;  ///< --serve URLs (replace the file's client list)
  std::vector<std::string> listen; ///< --listen URLs (replace the file's worker list)
  std::vector<std::string> peers;  ///< --peer HOST:PORT (replace the file's cluster-peers)
  std::vector<std::pair<std::string, std::string>> overrides; ///< other broker flags: key, value
  std::vector<std::string> caf_args; ///< --scheduler.policy=... and other CAF options
  std::string error; ///< set when the command line is wrong (a usage error, exit 64)
};

/// The default config file name, looked up in the working directory.
inline constexpr const char* default_config_file = "caf-application.conf";

/// Splits `argv` (without the program name).
command_line parse_command_line(const std::vector<std::string>& args);

/// The text of `--help`.
std::string help_text(const std::string& program);

/// Reads the `[broker]` section of `file` into `s`. Unknown sections, unknown keys in any section
/// (check_config_file) and values of the wrong type are errors (CAF itself would ignore them
/// silently). A missing file is an error only when `required`. Returns an empty string on
/// success, otherwise the reason.
std::string load_config_file(const std::string& file, bool required, settings& s);

/// The keys of the `[broker]` section, in the order of `--help`.
std::vector<std::string> setting_keys();

/// The environment variable that sets `worker-token` (over the file, under --worker-token): a
/// secret in the environment is not shown by `ps`, as one on the command line is.
inline constexpr const char* worker_token_variable = "RCBROKER_WORKER_TOKEN";

/// Applies the settings the environment gives (`worker_token_variable`) on top of `s`.
void apply_environment(settings& s);

/// Applies the command line's broker options on top of `s`. Returns an error text or "".
std::string apply_command_line(const command_line& cl, settings& s);

} // namespace rcbroker::node
