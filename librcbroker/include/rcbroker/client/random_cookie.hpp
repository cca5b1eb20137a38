#pragma once

#include "rcbroker/protocol/cookie.hpp"

namespace rcbroker::client {

/// A fresh random (version 4) UUID to name a run.
protocol::cookie random_cookie();

} // namespace rcbroker::client
