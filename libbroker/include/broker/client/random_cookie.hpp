#pragma once

#include "broker/protocol/cookie.hpp"

namespace broker::client {

/// A fresh random (version 4) UUID to name a run.
protocol::cookie random_cookie();

} // namespace broker::client
