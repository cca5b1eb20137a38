#pragma once

#include "rcbroker/actors/snapshot.hpp"
#include "rcbroker/admin/node_info.hpp"

#include <string>

namespace rcbroker::admin {

/// Content type of the Prometheus text exposition format that `render_metrics` writes.
inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Renders a node snapshot in the Prometheus text exposition format (version 0.0.4): every
/// family with HELP and TYPE, names prefixed `rcbroker_` (but the standard `process_*` series,
/// when the snapshot has a process sample), counters ending in `_total`, times in seconds and
/// sizes in bytes. A pure function: the same snapshot gives the same text.
std::string render_metrics(const actors::node_snapshot& s, const node_info& info);

} // namespace rcbroker::admin
