#pragma once

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/admin/http_server.hpp"
#include "rcbroker/admin/node_info.hpp"

#include <caf/fwd.hpp>

namespace rcbroker::admin {

/// The admin endpoint's pages, as a handler for `http_server`:
/// - `GET /metrics`: the node in the Prometheus text format (503 when no snapshot came);
/// - `GET /healthz`: 200 "ok" while the node accepts work, 503 once it is shutting down;
/// - `GET /status`: the node as JSON (see `render_status_json`);
/// - any other path: 404.
/// Every figure comes from a snapshot the Broker and the Switchboard take of their own state.
/// `sys` must outlive the server that calls the handler.
request_handler make_routes(caf::actor_system& sys, actors::broker_actor broker, node_info info);

} // namespace rcbroker::admin
