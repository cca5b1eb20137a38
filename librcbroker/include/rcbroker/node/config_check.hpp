#pragma once

#include <caf/settings.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::node {

/// Checks that every section and every key of the config file `file`, as CAF parsed it into
/// `parsed`, is one the node knows: `[broker]` takes `broker_keys`, every other section must be a
/// category of CAF's own options (scheduler, middleman, logger, stream, ...) and each of its keys
/// one of that category's options, with a value of that option's type; keys before the first
/// section are CAF's global ones. CAF itself keeps what it does not know, and values it cannot
/// use, without a word: a misspelt section (`[brokr]`) would silently take its settings (a
/// `worker-token`, say) out of force. The values of `[broker]` are load_config_file's to check.
/// Returns an empty string when all is known, otherwise an error that names the file, the line,
/// the setting, and what to do.
std::string check_config_file(const std::string& file, const caf::settings& parsed,
                              const std::vector<std::string>& broker_keys);

/// The line (from 1) on which the config file text `text` sets `path`: the names of the nested
/// sections, then the key (`{"scheduler", "policy"}`; a key before any section has a path of
/// one). A key set inside a `{...}` value is found at the line of the key that holds it; a path
/// without its key at the line of its section header. 0 when the text does not show it (CAF's
/// parser reports no lines for what it accepted).
std::size_t config_line(std::string_view text, const std::vector<std::string>& path);

/// `file:LINE` for the setting `path` of the config file `file` (`file` alone when the line is
/// not found), to begin an error message with.
std::string config_location(const std::string& file, const std::vector<std::string>& path);

} // namespace rcbroker::node
