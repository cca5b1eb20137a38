#pragma once

#include "rcbroker/actors/messages.hpp"

#include <caf/fwd.hpp>
#include <chrono>
#include <functional>
#include <optional>

namespace rcbroker::admin {

/// Asks the Broker for a node snapshot without blocking the caller: a short-lived actor sends the
/// request, and `done` gets the snapshot, or nullopt when none came within `timeout` (the Broker
/// is gone or stuck). `done` runs on an actor thread.
void request_snapshot(caf::actor_system& sys, const actors::broker_actor& broker,
                      std::chrono::milliseconds timeout,
                      std::function<void(std::optional<actors::node_snapshot>)> done);

/// Asks the Broker whether it accepts work; `done` gets false when it is shutting down or did not
/// answer within `timeout`. `done` runs on an actor thread.
void request_health(caf::actor_system& sys, const actors::broker_actor& broker,
                    std::chrono::milliseconds timeout, std::function<void(bool)> done);

} // namespace rcbroker::admin
