#pragma once

#include <string>
#include <string_view>

namespace rcbroker::protocol {

/// Appends `text` to `out` as a JSON string literal, quotes included: quotes, backslashes and
/// control characters escaped, invalid UTF-8 replaced by U+FFFD, so the result is valid JSON
/// whatever `text` holds.
void append_json_string(std::string& out, std::string_view text);

} // namespace rcbroker::protocol
