#include "rcbroker/cluster/clustering.hpp"

#include "guarded_multiplexer.hpp"
#include "openssl_error_queue.hpp"
#include "rcbroker/actors/messages.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

namespace rcbroker::cluster {

void enable_clustering(caf::actor_system_config& cfg, const clustering_options& opts) {
  using namespace rcbroker::actors;
  cfg.module_factories.push_back(
      [max_payload = opts.max_payload, max_connections = opts.max_connections](
          caf::actor_system& sys) -> caf::actor_system::module* {
        return new guarded_middleman(sys, max_payload, max_connections);
      });
  if (opts.tls() && tls_error_queue_emptied()) {
    cfg.openssl_certificate = opts.tls_cert;
    cfg.openssl_key = opts.tls_key;
    cfg.openssl_cafile = opts.tls_ca;
    cfg.load<caf::openssl::manager>();
  }
  cfg.add_message_type<protocol::cookie>("rcbroker::cookie");
  cfg.add_message_type<protocol::frame>("rcbroker::frame");
  cfg.add_message_type<peer_role>("rcbroker::peer_role");
  cfg.add_message_type<switchboard_status>("rcbroker::switchboard_status");
  cfg.add_message_type<run_outcome>("rcbroker::run_outcome");
  cfg.add_message_type<run_settings>("rcbroker::run_settings");
  cfg.add_message_type<std::vector<protocol::frame>>("rcbroker::frames");
  cfg.add_message_type<protocol::packet_type>("rcbroker::packet_type");
  cfg.add_message_type<protocol::result_code>("rcbroker::result_code");
  cfg.add_message_type<routed_packet>("rcbroker::routed_packet");
  cfg.add_message_type<std::vector<routed_packet>>("rcbroker::routed_packets");
  cfg.add_message_type<slot_offer>("rcbroker::slot_offer");
  cfg.add_message_type<member_hello>("rcbroker::member_hello");
  cfg.add_message_type<cluster_inbound_actor>("rcbroker::cluster_inbound");
  cfg.add_message_type<cluster_outbound_actor>("rcbroker::cluster_outbound");
  cfg.add_message_type<cluster_link_actor>("rcbroker::cluster_link");
  // Node heartbeats are off in CAF 0.17 unless set: a hung peer would never be noticed.
  using namespace std::chrono_literals;
  if (caf::get_or(cfg, "middleman.heartbeat-interval", caf::timespan{0}).count() == 0)
    cfg.set("middleman.heartbeat-interval", caf::timespan{1s});
  if (caf::get_or(cfg, "middleman.connection-timeout", caf::timespan{0}).count() == 0)
    cfg.set("middleman.connection-timeout", caf::timespan{5s});
}

void enable_clustering(caf::actor_system_config& cfg) {
  enable_clustering(cfg, clustering_options{});
}

guard_counts cluster_guard_counts(caf::actor_system& sys) {
  if (!sys.has_middleman())
    return {};
  auto mx = dynamic_cast<guarded_multiplexer*>(&sys.middleman().backend());
  if (mx == nullptr)
    return {};
  auto& g = mx->guard();
  return {g.open.load(), g.oversized.load(), g.over_limit.load()};
}

} // namespace rcbroker::cluster
