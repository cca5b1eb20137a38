#include "rcbroker/cluster/peering.hpp"

#include "rcbroker/cluster/link.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <map>

namespace rcbroker::cluster {

namespace {

using namespace rcbroker::actors;

using retry_atom = caf::atom_constant<caf::atom("retry")>;

struct peer_link {
  peer_address address;
  caf::actor_addr link; // the live link, if any
  caf::timespan backoff{0};
  bool ever_joined = false;
  std::uint64_t failures = 0;
};

struct peering_state {
  switchboard_actor local;
  peering_config cfg;
  std::vector<peer_link> peers;
  static inline const char* name = "cluster_peering";
};

using peering_pointer = caf::stateful_actor<peering_state>*;

void schedule_retry(peering_pointer self, std::size_t index) {
  auto& p = self->state.peers[index];
  auto& cfg = self->state.cfg;
  p.backoff = p.backoff.count() == 0 ? cfg.min_backoff : std::min(p.backoff * 2, cfg.max_backoff);
  self->delayed_send(self, p.backoff, retry_atom::value, static_cast<std::uint64_t>(index));
}

void connect(peering_pointer self, std::size_t index) {
  auto& p = self->state.peers[index];
  auto mm = self->system().middleman().actor_handle();
  self
    ->request(mm, self->state.cfg.connect_timeout, caf::connect_atom::value, p.address.host,
              p.address.port)
    .then(
      [self, index](const caf::node_id&, caf::strong_actor_ptr& ptr,
                    const std::set<std::string>& interface) {
        auto& p = self->state.peers[index];
        auto expected = self->system().message_types<switchboard_actor>();
        if (!ptr || interface != expected) {
          spdlog::error("cluster: {} does not speak this broker's Switchboard interface (another "
                        "version?); retrying",
                        p.address.to_string());
          schedule_retry(self, index);
          return;
        }
        auto remote = caf::actor_cast<switchboard_actor>(ptr);
        auto link = spawn_link(self->system(), self->state.local, remote, p.address.to_string());
        self->monitor(link);
        p.link = link.address();
        p.backoff = caf::timespan{0};
        p.failures = 0;
        spdlog::info("cluster: {} peer {}", p.ever_joined ? "rejoined" : "joined",
                     p.address.to_string());
        p.ever_joined = true;
      },
      [self, index](caf::error& err) {
        auto& p = self->state.peers[index];
        // The first failure is worth a warning; a peer that stays down should not flood the log.
        spdlog::log(p.failures++ == 0 ? spdlog::level::warn : spdlog::level::debug,
                    "cluster: cannot reach peer {} ({}); retrying with backoff",
                    p.address.to_string(), self->system().render(err));
        schedule_retry(self, index);
      });
}

caf::behavior peering(peering_pointer self, switchboard_actor local, peering_config cfg) {
  self->state.local = std::move(local);
  self->state.cfg = std::move(cfg);
  for (auto& address : self->state.cfg.peers)
    self->state.peers.push_back(peer_link{address, {}, caf::timespan{0}, false, 0});
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& peers = self->state.peers;
    for (std::size_t i = 0; i < peers.size(); ++i) {
      if (peers[i].link != msg.source)
        continue;
      peers[i].link = caf::actor_addr{};
      spdlog::warn("cluster: lost peer {} ({}); its tasks ended with WORKER_WENT_AWAY",
                   peers[i].address.to_string(), self->system().render(msg.reason));
      schedule_retry(self, i);
    }
  });
  for (std::size_t i = 0; i < self->state.peers.size(); ++i)
    connect(self, i);
  return {
    [self](retry_atom, std::uint64_t index) {
      if (index < self->state.peers.size() && !self->state.peers[index].link)
        connect(self, static_cast<std::size_t>(index));
    },
  };
}

} // namespace

std::string peer_address::to_string() const {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

bool parse_peer_address(const std::string& text, peer_address& out, std::string& error) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    error = "peer '" + text + "' must be HOST:PORT, e.g. 127.0.0.1:51520";
    return false;
  }
  std::string host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto digits = std::string_view{text}.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535) {
    error = "peer '" + text + "' has no valid port (1..65535)";
    return false;
  }
  out.host = host;
  out.port = static_cast<std::uint16_t>(port);
  return true;
}

caf::actor spawn_peering(caf::actor_system& sys, switchboard_actor local, peering_config cfg) {
  return sys.spawn(peering, std::move(local), std::move(cfg));
}

void enable_clustering(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  cfg.add_message_type<protocol::cookie>("rcbroker::cookie");
  cfg.add_message_type<protocol::frame>("rcbroker::frame");
  cfg.add_message_type<peer_role>("rcbroker::peer_role");
  cfg.add_message_type<switchboard_status>("rcbroker::switchboard_status");
  cfg.add_message_type<run_outcome>("rcbroker::run_outcome");
  cfg.add_message_type<std::vector<protocol::frame>>("rcbroker::frames");
  cfg.add_message_type<protocol::packet_type>("rcbroker::packet_type");
  cfg.add_message_type<protocol::result_code>("rcbroker::result_code");
  cfg.add_message_type<routed_packet>("rcbroker::routed_packet");
  cfg.add_message_type<std::vector<routed_packet>>("rcbroker::routed_packets");
  // Node heartbeats are off in CAF 0.17 unless set: a hung peer would never be noticed.
  using namespace std::chrono_literals;
  if (caf::get_or(cfg, "middleman.heartbeat-interval", caf::timespan{0}).count() == 0)
    cfg.set("middleman.heartbeat-interval", caf::timespan{1s});
  if (caf::get_or(cfg, "middleman.connection-timeout", caf::timespan{0}).count() == 0)
    cfg.set("middleman.connection-timeout", caf::timespan{5s});
}

} // namespace rcbroker::cluster
