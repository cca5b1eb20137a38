#include "rcbroker/cluster/membership.hpp"

#include "rcbroker/cluster/link.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <map>
#include <set>
#include <spdlog/spdlog.h>

namespace rcbroker::cluster {

namespace {

using namespace rcbroker::actors;
using steady = std::chrono::steady_clock;

enum class member_state { connecting, greeting, linked, retrying };

const char* state_name(member_state s) {
  switch (s) {
  case member_state::connecting:
    return "connecting";
  case member_state::greeting:
    return "greeting";
  case member_state::linked:
    return "linked";
  default:
    return "retrying";
  }
}

/// One other node, dialled or greeted.
struct member {
  std::string dial;       ///< the address this node dials ("" when it cannot: it greeted us)
  std::string advertised; ///< the address it says it has
  std::string name;
  bool listed = false; ///< named with --peer: retried for ever
  member_state state = member_state::connecting;
  caf::node_id node; ///< once connected
  cluster_face_actor face;
  cluster_outbound_actor outbound; ///< this node's halves of the link with it
  cluster_inbound_actor inbound;
  /// Bumped by every new attempt: answers and timers of an older one are ignored.
  std::uint64_t attempt = 0;
  caf::timespan backoff{0};
  std::uint64_t failures = 0;
  bool ever_linked = false;
  steady::time_point since = steady::now();
  std::int64_t since_unix_ms = 0;
  /// When its first failed attempt since it was last linked ended (for forgetting it).
  steady::time_point unreachable_since = steady::now();

  /// How logs name it: its address, and its name when it has one.
  std::string label() const {
    auto address = advertised.empty() ? dial : advertised;
    if (address.empty())
      address = "(no cluster address)";
    return name.empty() ? address : name + " " + address;
  }
};

struct membership_state {
  switchboard_actor local;
  cluster_face_actor face;
  membership_config cfg;
  std::map<std::uint64_t, member> members;
  std::uint64_t next_id = 1;
  /// Addresses that turned out to be this node itself: never dialled again.
  std::set<std::string> own_addresses;
  /// What the members were last told.
  std::vector<std::string> last_gossip;
  static inline const char* name = "cluster_membership";
};

using membership_pointer = cluster_membership_actor::stateful_pointer<membership_state>;
using member_map = std::map<std::uint64_t, member>;

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void enter(member& m, member_state s) {
  m.state = s;
  m.since = steady::now();
  m.since_unix_ms = unix_ms_now();
}

// Only this node's actors (its face, the Broker, its own timers) talk to the membership actor;
// its handle is seen by the members it greets, and anything they send it directly is dropped. An
// anonymous message may come from another node (CAF delivers a remote anon_send without sender).
bool local_sender(membership_pointer self) {
  auto& sender = self->current_sender();
  return sender != nullptr && sender->node() == self->node();
}

member_map::iterator find_by_node(membership_pointer self, const caf::node_id& node) {
  auto& ms = self->state.members;
  for (auto i = ms.begin(); i != ms.end(); ++i)
    if (i->second.node == node && i->second.state != member_state::connecting &&
        i->second.state != member_state::retrying)
      return i;
  return ms.end();
}

member_map::iterator find_by_address(membership_pointer self, const std::string& address) {
  auto& ms = self->state.members;
  for (auto i = ms.begin(); i != ms.end(); ++i)
    if (i->second.dial == address || i->second.advertised == address)
      return i;
  return ms.end();
}

std::vector<std::string> linked_addresses(membership_pointer self) {
  std::vector<std::string> result;
  if (!self->state.cfg.address.empty())
    result.push_back(self->state.cfg.address);
  for (auto& [id, m] : self->state.members) {
    auto& address = m.advertised.empty() ? m.dial : m.advertised;
    if (m.state == member_state::linked && !address.empty())
      result.push_back(address);
  }
  return result;
}

/// Tells every linked member the addresses this node is linked to, when they changed.
void gossip(membership_pointer self) {
  auto list = linked_addresses(self);
  if (list == self->state.last_gossip)
    return;
  self->state.last_gossip = list;
  for (auto& [id, m] : self->state.members)
    if (m.state == member_state::linked && m.face)
      self->send(m.face, members_atom::value, list);
}

member_hello hello_for(membership_pointer self, const member& m) {
  auto& st = self->state;
  return member_hello{st.cfg.name, st.cfg.address, caf::actor_cast<caf::actor>(st.face),
                      m.inbound,   m.outbound,     linked_addresses(self)};
}

void end_link(membership_pointer self, member& m) {
  if (m.outbound)
    self->send_exit(m.outbound, caf::exit_reason::user_shutdown);
  if (m.inbound)
    self->send_exit(m.inbound, caf::exit_reason::user_shutdown);
  m.outbound = nullptr;
  m.inbound = nullptr;
}

void spawn_halves(membership_pointer self, member& m) {
  auto& st = self->state;
  link_config lc{m.label(), st.cfg.max_batch_bytes};
  m.outbound = spawn_outbound_link(self->system(), st.local, lc);
  m.inbound = spawn_inbound_link(self->system(), st.local, lc);
}

void schedule_retry(membership_pointer self, std::uint64_t id) {
  auto& m = self->state.members.at(id);
  auto& cfg = self->state.cfg;
  enter(m, member_state::retrying);
  m.backoff = m.backoff.count() == 0 ? cfg.min_backoff : std::min(m.backoff * 2, cfg.max_backoff);
  self->delayed_send(self, m.backoff, retry_atom::value, id, m.attempt);
}

void learn(membership_pointer self, const std::vector<std::string>& addresses);

/// Counts a failed attempt; true for the first since the member was last linked, which is worth
/// a warning (a member that stays down should not flood the log).
bool count_failure(member& m) {
  if (m.failures++ != 0)
    return false;
  m.unreachable_since = steady::now();
  return true;
}

/// The greeting went through both ways: binds this node's halves to the member's.
void link_up(membership_pointer self, member& m, const member_hello& hello) {
  self->send(m.outbound, bind_atom::value, hello.inbound);
  self->send(m.inbound, bind_atom::value, caf::actor_cast<cluster_link_actor>(hello.outbound));
  self->monitor(m.outbound);
  self->monitor(m.inbound);
  m.name = hello.name;
  m.advertised = hello.address;
  m.face = caf::actor_cast<cluster_face_actor>(hello.face);
  m.failures = 0;
  m.backoff = caf::timespan{0};
  enter(m, member_state::linked);
  spdlog::info("cluster: {} member {}", m.ever_linked ? "rejoined" : "linked with", m.label());
  m.ever_linked = true;
  learn(self, hello.members);
  gossip(self);
}

void greet(membership_pointer self, std::uint64_t id);
void dial(membership_pointer self, std::uint64_t id);

void on_connected(membership_pointer self, std::uint64_t id, const caf::node_id& node,
                  caf::strong_actor_ptr& ptr, const std::set<std::string>& interface) {
  auto& st = self->state;
  auto& m = st.members.at(id);
  if (node == self->node()) {
    spdlog::info("cluster: {} is this node itself; not dialled again", m.dial);
    st.own_addresses.insert(m.dial);
    st.members.erase(id);
    return;
  }
  if (!ptr || interface != self->system().message_types<cluster_face_actor>()) {
    spdlog::error("cluster: {} does not speak this broker's cluster interface (another version, "
                  "or not an rcbroker cluster port); retrying",
                  m.dial);
    return schedule_retry(self, id);
  }
  auto other = find_by_node(self, node);
  if (other != st.members.end() && other->first != id) {
    // Already linked (or greeting) under another address: one link per node.
    other->second.listed = other->second.listed || m.listed;
    if (other->second.dial.empty())
      other->second.dial = m.dial;
    st.members.erase(id);
    return;
  }
  m.node = node;
  m.face = caf::actor_cast<cluster_face_actor>(ptr);
  greet(self, id);
}

void greet(membership_pointer self, std::uint64_t id) {
  auto& m = self->state.members.at(id);
  spawn_halves(self, m);
  enter(m, member_state::greeting);
  auto attempt = m.attempt;
  self->request(m.face, self->state.cfg.connect_timeout, hello_atom::value, hello_for(self, m))
      .then(
          [self, id, attempt](member_hello& answer) {
            auto i = self->state.members.find(id);
            if (i == self->state.members.end() || i->second.attempt != attempt)
              return;
            auto& m = i->second;
            if (!answer.inbound || !answer.outbound || !answer.face) {
              spdlog::error("cluster: {} answered the greeting without its link; retrying",
                            m.label());
              end_link(self, m);
              return schedule_retry(self, id);
            }
            link_up(self, m, answer);
          },
          [self, id, attempt](caf::error& err) {
            auto i = self->state.members.find(id);
            if (i == self->state.members.end() || i->second.attempt != attempt)
              return;
            auto& m = i->second;
            end_link(self, m);
            // "already linked": its own greeting to us wins and arrives shortly; the retry
            // only matters if it does not.
            spdlog::log(count_failure(m) ? spdlog::level::warn : spdlog::level::debug,
                        "cluster: greeting {} failed ({}); retrying with backoff", m.label(),
                        self->system().render(err));
            schedule_retry(self, id);
          });
}

void dial(membership_pointer self, std::uint64_t id) {
  auto& st = self->state;
  auto& m = st.members.at(id);
  peer_address address;
  std::string error;
  if (!parse_peer_address(m.dial, address, error)) {
    spdlog::warn("cluster: cannot dial member address {}", error);
    st.members.erase(id);
    return;
  }
  enter(m, member_state::connecting);
  auto attempt = ++m.attempt;
  auto mm = st.cfg.tls ? self->system().openssl_manager().actor_handle()
                       : self->system().middleman().actor_handle();
  self->request(mm, st.cfg.connect_timeout, caf::connect_atom::value, address.host, address.port)
      .then(
          [self, id, attempt](const caf::node_id& node, caf::strong_actor_ptr& ptr,
                              const std::set<std::string>& interface) {
            auto i = self->state.members.find(id);
            if (i != self->state.members.end() && i->second.attempt == attempt &&
                i->second.state == member_state::connecting)
              on_connected(self, id, node, ptr, interface);
          },
          [self, id, attempt](caf::error& err) {
            auto i = self->state.members.find(id);
            if (i == self->state.members.end() || i->second.attempt != attempt ||
                i->second.state != member_state::connecting)
              return;
            auto& m = i->second;
            spdlog::log(count_failure(m) ? spdlog::level::warn : spdlog::level::debug,
                        "cluster: cannot reach member {} ({}); retrying with backoff", m.label(),
                        self->system().render(err));
            schedule_retry(self, id);
          });
}

/// Whether another member fits: greetings and gossip must not make the node keep (and dial)
/// members without bound.
bool room_for_member(membership_pointer self) {
  auto& st = self->state;
  if (st.cfg.max_members == 0 || st.members.size() < st.cfg.max_members)
    return true;
  spdlog::warn("cluster: {} members known (cluster-max-connections); another is refused",
               st.members.size());
  return false;
}

std::uint64_t add_member(membership_pointer self, std::string dial, bool listed) {
  auto id = self->state.next_id++;
  auto& m = self->state.members[id];
  m.dial = std::move(dial);
  m.listed = listed;
  enter(m, member_state::connecting);
  return id;
}

void learn(membership_pointer self, const std::vector<std::string>& addresses) {
  auto& st = self->state;
  for (auto& address : addresses) {
    if (address.empty() || address == st.cfg.address || st.own_addresses.count(address) != 0 ||
        find_by_address(self, address) != st.members.end())
      continue;
    peer_address parsed;
    std::string error;
    if (!parse_peer_address(address, parsed, error)) {
      spdlog::warn("cluster: a member told of a bad address: {}", error);
      continue;
    }
    if (!room_for_member(self))
      return;
    spdlog::info("cluster: learnt of member {}; dialling it", address);
    dial(self, add_member(self, address, false));
  }
}

/// Another node greets this one (through the face).
caf::result<member_hello> on_hello(membership_pointer self, const caf::node_id& node,
                                   member_hello& hello) {
  auto& st = self->state;
  if (!local_sender(self))
    return caf::make_error(caf::sec::unexpected_message);
  if (node == self->node())
    return caf::make_error(caf::sec::runtime_error, "a node does not link to itself");
  if (!hello.inbound || !hello.outbound || !hello.face)
    return caf::make_error(caf::sec::runtime_error, "a greeting must carry the link");
  auto i = find_by_node(self, node);
  if (i != st.members.end()) {
    auto& m = i->second;
    if (m.state == member_state::linked)
      return caf::make_error(caf::sec::runtime_error, "already linked");
    // Both greet at once: the node with the smaller id wins, so both keep the same link.
    if (self->node() < node)
      return caf::make_error(caf::sec::runtime_error, "already linked: our greeting wins");
    end_link(self, m);
  } else if (!hello.address.empty()) {
    // A member we dial or greet under this address (maybe an earlier process of the node).
    i = find_by_address(self, hello.address);
    if (i != st.members.end() && i->second.state == member_state::linked)
      i = st.members.end(); // another node claims the address: keep both apart
    else if (i != st.members.end())
      end_link(self, i->second);
  }
  if (i == st.members.end()) {
    if (!room_for_member(self))
      return caf::make_error(caf::sec::runtime_error, "too many members");
    i = st.members.find(add_member(self, hello.address, false));
  }
  auto& m = i->second;
  ++m.attempt; // a dial or greeting of ours under way is moot now
  m.node = node;
  if (m.dial.empty())
    m.dial = hello.address;
  spawn_halves(self, m);
  auto answer = hello_for(self, m);
  link_up(self, m, hello);
  answer.members = linked_addresses(self);
  return answer;
}

void on_down(membership_pointer self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (auto i = st.members.begin(); i != st.members.end(); ++i) {
    auto& m = i->second;
    if (m.outbound.address() != msg.source && m.inbound.address() != msg.source)
      continue;
    if (m.state != member_state::linked)
      return;
    spdlog::warn("cluster: lost member {} ({}); the tasks behind it ended with WORKER_WENT_AWAY",
                 m.label(), self->system().render(msg.reason));
    end_link(self, m);
    ++m.attempt;
    m.failures = 1;
    m.unreachable_since = steady::now();
    if (m.dial.empty()) {
      st.members.erase(i); // it dialled us and will again
    } else {
      m.face = nullptr;
      schedule_retry(self, i->first);
    }
    gossip(self);
    return;
  }
}

cluster_membership_actor::behavior_type membership(membership_pointer self, switchboard_actor local,
                                                   cluster_face_actor face, membership_config cfg) {
  auto& st = self->state;
  st.local = std::move(local);
  st.face = std::move(face);
  st.cfg = std::move(cfg);
  st.last_gossip = linked_addresses(self);
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  for (auto& peer : st.cfg.peers) {
    auto text = peer.to_string();
    if (text == st.cfg.address || find_by_address(self, text) != st.members.end())
      continue;
    dial(self, add_member(self, text, true));
  }
  return {
      [self](hello_atom, const caf::node_id& node, member_hello& hello) {
        return on_hello(self, node, hello);
      },
      [self](members_atom, const caf::node_id& node, const std::vector<std::string>& addresses) {
        auto i = find_by_node(self, node);
        if (local_sender(self) && i != self->state.members.end() &&
            i->second.state == member_state::linked)
          learn(self, addresses);
      },
      [self](retry_atom, std::uint64_t id, std::uint64_t attempt) {
        auto& st = self->state;
        auto i = st.members.find(id);
        if (!local_sender(self) || i == st.members.end() || i->second.attempt != attempt ||
            i->second.state != member_state::retrying)
          return;
        auto& m = i->second;
        if (!m.listed && steady::now() - m.unreachable_since > st.cfg.forget_after) {
          spdlog::info(
              "cluster: forgot member {}: unreachable for {} s", m.label(),
              std::chrono::duration_cast<std::chrono::seconds>(st.cfg.forget_after).count());
          st.members.erase(i);
          return;
        }
        dial(self, id);
      },
      [self](metrics_atom) {
        std::vector<cluster_member> result;
        if (!local_sender(self))
          return result;
        for (auto& [id, m] : self->state.members)
          result.push_back(cluster_member{m.name, m.advertised.empty() ? m.dial : m.advertised,
                                          state_name(m.state), m.since_unix_ms, m.listed,
                                          m.failures, m.outbound ? m.outbound.id() : 0,
                                          m.inbound ? m.inbound.id() : 0});
        return result;
      },
  };
}

} // namespace

actors::cluster_membership_actor spawn_membership(caf::actor_system& sys,
                                                  actors::switchboard_actor local,
                                                  actors::cluster_face_actor face,
                                                  membership_config cfg) {
  return sys.spawn(membership, std::move(local), std::move(face), std::move(cfg));
}

} // namespace rcbroker::cluster
