#pragma once

#include "rcbroker/node/settings.hpp"

#include <string>

namespace rcbroker::node {

/// Renders every `[broker]` setting as `key = value`, one a line, in the syntax of the config
/// file (strings quoted, lists in brackets, durations with a unit), so that the output of
/// `rcbroker --check-config` can be pasted into a `[broker]` section as it is. A `worker-token`
/// is the exception: it shows as "(set, not shown)".
std::string render_settings(const settings& s);

} // namespace rcbroker::node
