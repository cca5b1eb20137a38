#pragma once

#include "rcbroker/actors/snapshot.hpp"
#include "rcbroker/admin/node_info.hpp"

#include <string>

namespace rcbroker::admin {

/// Renders a node snapshot as the JSON document of `GET /status`: node, version, accepting,
/// uptime, endpoints, connections, slots, counters, each worker with its capacity and tasks in
/// flight, each client with its tasks in flight, and the cluster. Workers and clients are named
/// as in the logs when they are socket connections. A pure function.
std::string render_status_json(const actors::node_snapshot& s, const node_info& info);

} // namespace rcbroker::admin
