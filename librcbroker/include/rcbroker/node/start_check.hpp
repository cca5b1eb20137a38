#pragma once

#include "rcbroker/node/settings.hpp"

#include <string>

namespace rcbroker::node {

/// Checks the files a start would use, as the start would use them: the TLS certificates and
/// keys of tls://, https:// and grpcs:// endpoints and of cluster links load and match, and the
/// log file's folder exists and takes writes. Returns an empty string when all is well, otherwise
/// what is wrong, naming the setting and what to do; for --check-config, which must fail where a
/// start would.
std::string check_start_files(const settings& s);

} // namespace rcbroker::node
