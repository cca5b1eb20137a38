#include "rcbroker/node/settings.hpp"

#include "rcbroker/admin/address.hpp"
#include "rcbroker/cluster/peer_address.hpp"
#include "rcbroker/journal/journal_store.hpp"
#include "rcbroker/logging/component.hpp"
#include "rcbroker/transport/endpoint.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace rcbroker::node {

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
    auto level =
        eq == std::string::npos ? std::string_view{} : std::string_view{entry}.substr(eq + 1);
    if (!logging::parse_component(component))
      return "log-levels: '" + entry +
             "' must be COMPONENT=LEVEL, COMPONENT one of node, broker, switchboard, connection, "
             "admin";
    constexpr std::array<std::string_view, 7> levels{"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};
    if (std::find(levels.begin(), levels.end(), level) == levels.end())
      return "log-levels: '" + entry +
             "' must be COMPONENT=LEVEL, LEVEL one of trace, debug, info, warn, error, critical, "
             "off";
  }
  return {};
}

} // namespace

std::optional<tls_endpoint> first_tls_endpoint(const settings& s) {
  for (auto [key, urls] : {std::pair{"client-endpoints", &s.client_endpoints},
                           std::pair{"worker-endpoints", &s.worker_endpoints}})
    for (auto& url : *urls)
      if (auto parsed = transport::parse_endpoint(url, 0); parsed.value && parsed.value->uses_tls())
        return tls_endpoint{key, url};
  return std::nullopt;
}

namespace {

/// Checks the TLS files against the endpoints, and `unix-socket-mode`.
std::string check_security(const settings& s) {
  if (!parse_socket_mode(s.unix_socket_mode))
    return "unix-socket-mode must be an octal mode such as \"0660\" (got '" + s.unix_socket_mode +
           "')";
  if (s.tls_cert.empty() != s.tls_key.empty())
    return "tls-cert and tls-key go together: set both (--tls-cert FILE --tls-key FILE)";
  if (!s.tls_client_ca.empty() && s.tls_cert.empty())
    return "tls-client-ca needs tls-cert and tls-key";
  if (!s.tls_cert.empty())
    return {};
  if (auto tls = first_tls_endpoint(s))
    return std::string{tls->key} + ": " + tls->url +
           " is a TLS endpoint: set tls-cert and tls-key (--tls-cert FILE --tls-key FILE)";
  return {};
}

std::string check_endpoints(const std::vector<std::string>& urls, const char* key,
                            transport::default_ports defaults, bool workers) {
  if (urls.empty())
    return std::string{key} + ": at least one endpoint is needed";
  for (auto& url : urls) {
    auto parsed = transport::parse_endpoint(url, defaults);
    if (!parsed.value)
      return std::string{key} + ": " + parsed.error;
    auto type = parsed.value->type;
    using kind = transport::endpoint::kind;
    if (workers && (type == kind::http || type == kind::https))
      return std::string{key} + ": " + url +
             ": http:// serves clients only (as the original's); workers connect over tcp://, "
             "tls://, socket:// or grpc://";
    if (!served_by_this_build(type))
      return std::string{key} + ": " + url + ": this build of the node does not serve " +
             parsed.value->scheme() + ":// endpoints";
  }
  return {};
}

} // namespace

bool served_by_this_build(transport::endpoint::kind type) noexcept {
  using kind = transport::endpoint::kind;
#ifdef RCBROKER_WITH_GRPC
  constexpr bool grpc = true;
#else
  constexpr bool grpc = false;
#endif
  return grpc || (type != kind::grpc && type != kind::grpcs);
}

std::vector<std::string> default_client_endpoints() {
  std::vector<std::string> urls{"socket:///tmp/reasonchip-broker-client.sock", "tcp://[::1]:51500"};
  if (served_by_this_build(transport::endpoint::kind::grpc))
    urls.emplace_back("grpc://[::1]:51501");
  urls.emplace_back("http://[::1]:51502");
  return urls;
}

std::vector<std::string> default_worker_endpoints() {
  std::vector<std::string> urls{"socket:///tmp/reasonchip-broker-worker.sock", "tcp://[::1]:51510"};
  if (served_by_this_build(transport::endpoint::kind::grpc))
    urls.emplace_back("grpc://[::1]:51511");
  return urls;
}

std::string canonical_log_level(std::string_view level) {
  std::string out{level};
  for (auto& c : out)
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out == "warning" ? "warn" : out;
}

void set_log_level(std::string_view text, settings& s) {
  if (auto eq = text.find('='); eq != std::string_view::npos) {
    s.log_levels.push_back(std::string{text.substr(0, eq + 1)} +
                           canonical_log_level(text.substr(eq + 1)));
    return;
  }
  s.log_level = canonical_log_level(text);
}

std::vector<std::string> canonical_log_levels(std::vector<std::string> entries) {
  for (auto& entry : entries) {
    if (auto eq = entry.find('='); eq != std::string::npos)
      entry = entry.substr(0, eq + 1) + canonical_log_level(std::string_view{entry}.substr(eq + 1));
  }
  return entries;
}

std::optional<unsigned> parse_socket_mode(std::string_view mode) {
  if (mode.empty() || mode.size() > 4)
    return std::nullopt;
  unsigned bits = 0;
  for (char c : mode) {
    if (c < '0' || c > '7')
      return std::nullopt;
    bits = bits * 8 + static_cast<unsigned>(c - '0');
  }
  if (bits > 0777)
    return std::nullopt;
  return bits;
}

namespace {

std::string check_cluster(const settings& s) {
  for (auto& peer : s.cluster_peers) {
    cluster::peer_address address;
    std::string error;
    if (!cluster::parse_peer_address(peer, address, error))
      return "cluster-peers: " + error;
  }
  if (!s.cluster_advertise.empty()) {
    cluster::peer_address address;
    std::string error;
    if (!cluster::parse_peer_address(s.cluster_advertise, address, error))
      return "cluster-advertise: " + error;
  }
  int tls_set =
      !s.cluster_tls_cert.empty() + !s.cluster_tls_key.empty() + !s.cluster_tls_ca.empty();
  if (tls_set != 0 && tls_set != 3)
    return "cluster-tls-cert, cluster-tls-key and cluster-tls-ca go together: set all three for "
           "authenticated cluster links (or none)";
  if (s.cluster_port != 0 && tls_set == 0 && !s.cluster_insecure &&
      !cluster::is_loopback_host(s.cluster_bind))
    return "cluster-bind " + s.cluster_bind +
           " is reachable from other machines, and without cluster TLS anyone who reaches the "
           "cluster port could link to this node and register workers: set cluster-tls-cert, "
           "cluster-tls-key and cluster-tls-ca (docs/CLUSTER.md, \"Security\"), or give "
           "--cluster-insecure on a network you trust";
  return {};
}

} // namespace

std::string validate(const settings& s) {
  if (auto err =
          check_endpoints(s.client_endpoints, "client-endpoints", transport::client_ports, false);
      !err.empty())
    return err;
  if (auto err =
          check_endpoints(s.worker_endpoints, "worker-endpoints", transport::worker_ports, true);
      !err.empty())
    return err;
  if (s.max_frame_size < 64 || s.max_frame_size > 0xFFFFFFFFu)
    return "max-frame-size must be between 64 bytes and 4GiB-1";
  if (s.max_write_queue < s.max_frame_size)
    return "max-write-queue must be at least max-frame-size";
  if (s.cluster_port > 65535)
    return "cluster-port must be between 0 and 65535";
  if (auto err = check_cluster(s); !err.empty())
    return err;
  if (s.io_threads != 1)
    return "io-threads must be 1: a node runs its sockets and actors on one thread; for more "
           "cores, run one node per core joined as a cluster (docs/ARCHITECTURE.md)";
  constexpr std::array<std::string_view, 7> levels{"trace", "debug",    "info", "warn",
                                                   "error", "critical", "off"};
  bool known = false;
  for (auto level : levels)
    known = known || level == s.log_level;
  if (!known)
    return "log-level must be one of trace, debug, info, warn (or WARNING), error, critical, off, "
           "in any case (got '" +
           s.log_level + "')";
  if (auto err = check_security(s); !err.empty())
    return err;
  if (journal::journal_sync sync; !journal::parse_journal_sync(s.journal_sync, sync))
    return "journal-sync must be always, batch or off (got '" + s.journal_sync + "')";
  if (!s.journal.empty() && s.journal_max_runs == 0)
    return "journal-max-runs must be at least 1: it bounds the memory and the disk the journal "
           "takes";
  return check_operations(s);
}

} // namespace rcbroker::node
