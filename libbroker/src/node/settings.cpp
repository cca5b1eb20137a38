#include "broker/node/settings.hpp"

#include "broker/admin/address.hpp"
#include "broker/cluster/peering.hpp"
#include "broker/logging/component.hpp"
#include "broker/transport/endpoint.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace broker::node {

namespace {

/// Checks `admin`, `log-format` and `log-levels`.
std::string check_operations(const settings& s) {
  if (!s.admin.empty()) {
    if (auto parsed = admin::parse_address(s.admin); !parsed.value)
      return "admin: " + parsed.error;
  }
  if (s.log_format != "text" && s.log_format != "json")
    return "log-format must be text or json (got '" + s.log_format + "')";
  for (auto& entry : s.log_levels) {
    auto eq = entry.find('=');
    auto component = std::string_view{entry}.substr(0, eq);
    auto level = eq == std::string::npos ? std::string_view{} : std::string_view{entry}.substr(eq + 1);
    if (!logging::parse_component(component))
      return "log-levels: '" + entry +
             "' must be COMPONENT=LEVEL, COMPONENT one of node, broker, switchboard, connection, "
             "admin";
    constexpr std::array<std::string_view, 6> levels{"trace", "debug", "info",
                                                     "warn",  "error", "off"};
    if (std::find(levels.begin(), levels.end(), level) == levels.end())
      return "log-levels: '" + entry +
             "' must be COMPONENT=LEVEL, LEVEL one of trace, debug, info, warn, error, off";
  }
  return {};
}

std::string check_endpoints(const std::vector<std::string>& urls, const char* key,
                            std::uint16_t default_port) {
  if (urls.empty())
    return std::string{key} + ": at least one endpoint is needed";
  for (auto& url : urls) {
    auto parsed = transport::parse_endpoint(url, default_port);
    if (!parsed.value)
      return std::string{key} + ": " + parsed.error;
  }
  return {};
}

} // namespace

std::string validate(const settings& s) {
  if (auto err =
          check_endpoints(s.client_endpoints, "client-endpoints", transport::default_client_port);
      !err.empty())
    return err;
  if (auto err =
          check_endpoints(s.worker_endpoints, "worker-endpoints", transport::default_worker_port);
      !err.empty())
    return err;
  if (s.max_frame_size < 64 || s.max_frame_size > 0xFFFFFFFFu)
    return "max-frame-size must be between 64 bytes and 4GiB-1";
  if (s.max_write_queue < s.max_frame_size)
    return "max-write-queue must be at least max-frame-size";
  if (s.cluster_port > 65535)
    return "cluster-port must be between 0 and 65535";
  for (auto& peer : s.cluster_peers) {
    cluster::peer_address address;
    std::string error;
    if (!cluster::parse_peer_address(peer, address, error))
      return "cluster-peers: " + error;
  }
  if (s.io_threads < 1 || s.io_threads > 64)
    return "io-threads must be between 1 and 64";
  constexpr std::array<std::string_view, 6> levels{"trace", "debug", "info",
                                                   "warn",  "error", "off"};
  bool known = false;
  for (auto level : levels)
    known = known || level == s.log_level;
  if (!known)
    return "log-level must be one of trace, debug, info, warn, error, off (got '" + s.log_level +
           "')";
  return check_operations(s);
}

} // namespace broker::node
