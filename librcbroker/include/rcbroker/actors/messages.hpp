#pragma once

// The message vocabulary of the broker's actors: atoms, the types carried in messages, and the
// typed interfaces of the Switchboard and of the connections it routes between.

#include "rcbroker/actors/snapshot.hpp"
#include "rcbroker/journal/journal_entry.hpp"
#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"
#include "rcbroker/protocol/packet_reader.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/node_id.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::transport {
class channel;
} // namespace rcbroker::transport

// Sockets never leave the process: a channel handle may travel in local messages only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<rcbroker::transport::channel>)
// What reading a frame gave travels only between the node's own actors.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rcbroker::protocol::read_result)

namespace rcbroker::protocol {

/// Serializes a cookie as its 16 bytes (for CAF's middleman and for log output).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cookie& x) {
  return f(caf::meta::type_name("cookie"), x.bytes);
}

/// Serializes a frame as its payload. Only the middleman and deep_to_string use this: locally a
/// frame travels as a shared pointer.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, frame& x) {
  std::string bytes{x.payload()};
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x = frame{bytes};
    return caf::none;
  });
  return f(caf::meta::type_name("frame"), bytes, load);
}

} // namespace rcbroker::protocol

namespace rcbroker::journal {

/// Serializes a journal entry (it travels between the node's own actors only).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_entry& x) {
  return f(caf::meta::type_name("journal_entry"), x.id, x.run, x.detach, x.priority, x.retries);
}

} // namespace rcbroker::journal

namespace rcbroker::actors {

using protocol::cookie;
using protocol::frame;

/// What a connection is to the Switchboard (CAF serializes enums as they are).
enum class peer_role : std::uint8_t {
  client,      ///< submits RUN and CANCEL
  worker,      ///< registers slots, answers with RESULT
  link_client, ///< a link from another node submitting its clients' work here (local slots)
  link_worker, ///< a link to another node, offering that node's free slots here
};

/// A role as logs and errors name it: "client", "worker", "link client", "link worker".
inline const char* role_name(peer_role role) noexcept {
  switch (role) {
  case peer_role::client:
    return "client";
  case peer_role::worker:
    return "worker";
  case peer_role::link_client:
    return "link client";
  default:
    return "link worker";
  }
}

// -- atoms --------------------------------------------------------------------------------------

using join_atom = caf::atom_constant<caf::atom("join")>;         ///< a peer introduces itself
using run_atom = caf::atom_constant<caf::atom("run")>;           ///< a client's RUN
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;     ///< a client's CANCEL
using register_atom = caf::atom_constant<caf::atom("register")>; ///< a worker's REGISTER
using result_atom = caf::atom_constant<caf::atom("result")>;     ///< a worker's RESULT
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;   ///< write this frame to the peer
using status_atom = caf::atom_constant<caf::atom("status")>;     ///< ask for a status snapshot
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>; ///< orderly stop
using close_atom = caf::atom_constant<caf::atom("close")>;       ///< flush, then close a connection
using frames_atom = caf::atom_constant<caf::atom("frames")>;     ///< frames read from a socket
using closed_atom = caf::atom_constant<caf::atom("closed")>;     ///< the socket ended
using grace_atom = caf::atom_constant<caf::atom("grace")>;       ///< a cancel grace period ran out
using tick_atom = caf::atom_constant<caf::atom("tick")>;         ///< periodic timer
using accept_atom = caf::atom_constant<caf::atom("accept")>;     ///< a listener accepted a socket
using done_atom = caf::atom_constant<caf::atom("done")>;         ///< an orderly stop completed
using capacity_atom = caf::atom_constant<caf::atom("capacity")>; ///< free slots a node offers
using flush_atom = caf::atom_constant<caf::atom("flush")>;       ///< send batched updates now
using packets_atom = caf::atom_constant<caf::atom("packets")>;   ///< a connection's routed packets
using read_atom = caf::atom_constant<caf::atom("read")>;         ///< read a large frame
using deadline_atom = caf::atom_constant<caf::atom("deadline")>; ///< task deadlines may be due
using drain_atom = caf::atom_constant<caf::atom("drain")>; ///< take no new RUNs, await the open
using hello_atom = caf::atom_constant<caf::atom("hello")>; ///< a node greets another's face
using members_atom =
    caf::atom_constant<caf::atom("members")>;              ///< the cluster addresses a node knows
using bind_atom = caf::atom_constant<caf::atom("bind")>;   ///< a link half learns its other half
using retry_atom = caf::atom_constant<caf::atom("retry")>; ///< try a cluster member again
using journal_atom = caf::atom_constant<caf::atom("journal")>;       ///< write runs to the journal
using replay_atom = caf::atom_constant<caf::atom("replay")>;         ///< run what the journal held
using checkpoint_atom = caf::atom_constant<caf::atom("checkpoint")>; ///< copy the log to the file

// -- types carried in messages ------------------------------------------------------------------

/// The Switchboard's view of the node at one instant.
struct switchboard_status {
  std::uint64_t clients = 0;            ///< client peers joined
  std::uint64_t workers = 0;            ///< worker peers joined
  std::uint64_t registered_slots = 0;   ///< capacity registered by live workers
  std::uint64_t free_slots = 0;         ///< slots not running a task
  std::uint64_t routes = 0;             ///< routes open (running, cancelling or queued)
  std::uint64_t queued = 0;             ///< RUNs waiting for a slot
  std::uint64_t runs_accepted = 0;      ///< RUNs forwarded to a worker since start
  std::uint64_t results_forwarded = 0;  ///< worker RESULTs forwarded to their client
  std::uint64_t results_dropped = 0;    ///< RESULTs for unknown cookies or other workers' routes
  std::uint64_t messages_rejected = 0;  ///< messages from senders not joined, or in the wrong role
  std::uint64_t cluster_links = 0;      ///< links to other nodes offering their slots here
  std::uint64_t cluster_free_slots = 0; ///< free slots those nodes offer
  std::uint64_t cluster_runs_sent = 0;  ///< RUNs this node sent to another node
  std::uint64_t cluster_runs_received = 0; ///< RUNs other nodes sent here
  std::uint64_t journaled = 0;             ///< runs the journal holds (0 without a journal)
};

/// Serializes a status snapshot.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, switchboard_status& x) {
  return f(caf::meta::type_name("switchboard_status"), x.clients, x.workers, x.registered_slots,
           x.free_slots, x.routes, x.queued, x.runs_accepted, x.results_forwarded,
           x.results_dropped, x.messages_rejected, x.cluster_links, x.cluster_free_slots,
           x.cluster_runs_sent, x.cluster_runs_received, x.journaled);
}

/// How a run submitted by an actor client ended: the RESULT's fields as plain values, so that
/// the reply can cross nodes.
struct run_outcome {
  cookie id;                           ///< the run's cookie
  std::string rc;                      ///< the result code as on the wire, e.g. "OK"
  std::string result;                  ///< the worker's result JSON text ("" when none)
  std::string error;                   ///< what went wrong ("" when nothing did)
  std::vector<std::string> stacktrace; ///< the worker's trace, one line an element
  std::int64_t attempts = 0; ///< workers the task was given to, for a run with retries (else 0)
};

/// Serializes a run outcome.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_outcome& x) {
  return f(caf::meta::type_name("run_outcome"), x.id, x.rc, x.result, x.error, x.stacktrace,
           x.attempts);
}

/// The routing extensions of an actor client's RUN (docs/PROTOCOL.md), typed: a socket peer's
/// come in its frame, which the Switchboard does not read for an actor's RUN.
struct run_settings {
  std::int64_t priority = 0; ///< queue order, higher first
  std::int32_t retries = -1; ///< runs again on worker loss this often, 0 to 1000 (-1: not asked)
};

/// Serializes run settings.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_settings& x) {
  return f(caf::meta::type_name("run_settings"), x.priority, x.retries);
}

/// One packet a socket connection passes on to the Switchboard, with the fields routing needs
/// read once by the connection (which already applied the stateless checks).
struct routed_packet {
  protocol::packet_type type = protocol::packet_type::run; ///< run, cancel or result
  cookie id;                                               ///< its cookie
  bool detach = false;                                     ///< RUN: detached
  bool has_rc = false;                                     ///< RESULT: whether `rc` was read
  protocol::result_code rc = protocol::result_code::ok;    ///< RESULT: its outcome
  frame bytes;                                             ///< the packet as the peer sent it
  std::uint32_t timeout_ms = 0; ///< RUN: its `timeout` field in milliseconds (0: none given)
  bool progress = false;        ///< RUN: the client wants the worker's PROGRESS packets
  std::int64_t priority = 0;    ///< RUN: its queue priority (higher first)
  std::string pipeline{};       ///< RUN: its pipeline, for workers that serve only some
  std::int32_t retries = -1;    ///< RUN: runs again on worker loss this often (-1: not asked)
};

/// Serializes a routed packet.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, routed_packet& x) {
  return f(caf::meta::type_name("routed_packet"), x.type, x.id, x.detach, x.has_rc, x.rc, x.bytes,
           x.timeout_ms, x.progress, x.priority, x.pipeline, x.retries);
}

/// The free slots one node offers another through a link: all of them, and how many of those
/// each pipeline may use (workers that serve every pipeline, and per pipeline the workers that
/// serve only some). A RUN crosses only to a node whose offer has a slot for its pipeline.
struct slot_offer {
  std::uint64_t total = 0; ///< free slots
  std::uint64_t any = 0;   ///< free slots of workers that serve every pipeline
  /// Per pipeline named by a worker that serves only some: its free slots of those workers.
  std::map<std::string, std::uint64_t, std::less<>> by_pipeline;

  /// Whether a RUN of `pipeline` may take one of the offered slots.
  bool serves(std::string_view pipeline) const {
    if (any > 0)
      return true;
    auto it = by_pipeline.find(pipeline);
    return it != by_pipeline.end() && it->second > 0;
  }

  /// Counts one slot taken by a RUN of `pipeline`: one that serves every pipeline if any is
  /// left (the other node's choice is not known: this never offers more than it has).
  void take(std::string_view pipeline) {
    if (total > 0)
      --total;
    if (any > 0) {
      --any;
      return;
    }
    auto it = by_pipeline.find(pipeline);
    if (it != by_pipeline.end() && it->second > 0)
      --it->second;
  }

  /// Counts one slot freed as a RUN's RESULT came back. Which pipelines it serves again is known
  /// only while every slot serves every pipeline; else the next offer says.
  void give_back() {
    ++total;
    if (by_pipeline.empty())
      ++any;
  }

  friend bool operator==(const slot_offer& x, const slot_offer& y) {
    return x.total == y.total && x.any == y.any && x.by_pipeline == y.by_pipeline;
  }
  friend bool operator!=(const slot_offer& x, const slot_offer& y) { return !(x == y); }
};

/// Serializes a slot offer.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_offer& x) {
  return f(caf::meta::type_name("slot_offer"), x.total, x.any, x.by_pipeline);
}

/// How a batch of journal entries went: written (in one transaction) or not, and how long it
/// took.
struct journal_commit {
  bool ok = true;    ///< written
  std::string error; ///< why not, for the log and the refused clients
  /// Time the transaction took, fsync included; set in the first answer of a transaction only
  /// (0 in the others), so that each transaction is observed once.
  std::uint64_t latency_ns = 0;
};

/// Serializes a commit report.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_commit& x) {
  return f(caf::meta::type_name("journal_commit"), x.ok, x.error, x.latency_ns);
}

// -- typed interfaces ---------------------------------------------------------------------------

/// The journal: the one actor that writes the SQLite file (on a thread of its own). It answers a
/// batch once it is written, or failed; `shutdown` once everything sent before is written.
using journal_actor = caf::typed_actor<
    caf::replies_to<journal_atom, std::vector<journal::journal_entry>>::with<journal_commit>,
    caf::reacts_to<flush_atom>, caf::replies_to<shutdown_atom>::with<done_atom>>;

/// The journal's checkpointer (a thread of its own, beside the journal's): copies what the
/// write-ahead log holds into the database file and syncs it, so that the journal's thread does
/// not wait for that fsync; answers whether the pass went through.
using journal_checkpointer_actor = caf::typed_actor<caf::replies_to<checkpoint_atom>::with<bool>>;

/// Anything the Switchboard routes to: a socket connection or an actor client or worker.
/// It only ever gets whole frames to deliver, one at a time or several at once (in order).
using peer_actor = caf::typed_actor<caf::reacts_to<deliver_atom, frame>,
                                    caf::reacts_to<deliver_atom, std::vector<frame>>>;

/// What a Switchboard sends a `link_client`, and what the outbound half of a link gets from the
/// other node: frames and the free slots it offers.
using cluster_link_actor = peer_actor::extend<caf::reacts_to<capacity_atom, slot_offer>>;

/// The inbound half of a link between two nodes (docs/CLUSTER.md): a `link_client` of this
/// node's Switchboard that takes RUN and CANCEL from the other node's outbound half (bound with
/// `bind`) and sends RESULT frames and this node's free slot count back to it.
using cluster_inbound_actor =
    cluster_link_actor::extend<caf::reacts_to<run_atom, cookie, frame>,
                               caf::reacts_to<cancel_atom, cookie, frame>,
                               caf::reacts_to<bind_atom, cluster_link_actor>>;

/// The outbound half of a link: a `link_worker` of this node's Switchboard offering the other
/// node's free slots; it passes RUN and CANCEL frames to the other node's inbound half (bound with
/// `bind`) and RESULT frames from it back to the Switchboard.
using cluster_outbound_actor =
    cluster_link_actor::extend<caf::reacts_to<bind_atom, cluster_inbound_actor>>;

/// What one node tells another when they link (both ways: the greeting and its answer).
struct member_hello {
  std::string name;                 ///< node-name ("" when none is set)
  std::string address;              ///< cluster address others may dial ("" when none)
  caf::actor face;                  ///< its cluster face (a cluster_face_actor)
  cluster_inbound_actor inbound;    ///< its inbound half for the other node
  cluster_outbound_actor outbound;  ///< its outbound half for the other node
  std::vector<std::string> members; ///< the addresses of the members it is linked to
};

/// Serializes a greeting.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_hello& x) {
  return f(caf::meta::type_name("member_hello"), x.name, x.address, x.face, x.inbound, x.outbound,
           x.members);
}

/// What an actor client or worker sends to a node: the part of the Switchboard's interface that
/// the node's cluster face (cluster/face.hpp) also offers to other CAF nodes. A worker of a node
/// with a worker token registers with the token. A RUN may carry run_settings and a REGISTER the
/// pipelines the worker serves (routing extensions).
using submission_actor = caf::typed_actor<
    caf::reacts_to<join_atom, peer_role>,
    caf::reacts_to<run_atom, cookie, bool /* detach */, frame>,
    caf::reacts_to<run_atom, cookie, bool /* detach */, frame, run_settings>,
    caf::reacts_to<cancel_atom, cookie, frame>,
    caf::reacts_to<register_atom, std::uint32_t /* capacity */>,
    caf::reacts_to<register_atom, std::uint32_t /* capacity */, std::string /* token */>,
    caf::reacts_to<register_atom, std::uint32_t /* capacity */,
                   std::vector<std::string> /* pipelines */>,
    caf::reacts_to<register_atom, std::uint32_t /* capacity */, std::string /* token */,
                   std::vector<std::string> /* pipelines */>,
    caf::reacts_to<result_atom, cookie, frame>>;

/// The actor that keeps this node's cluster membership (cluster/membership.hpp): links to
/// members, greetings, gossip of addresses, retries with backoff. Only this node's own actors talk
/// to it: its face passes on greetings and gossip with the sending node.
using cluster_membership_actor = caf::typed_actor<
    caf::replies_to<hello_atom, caf::node_id, member_hello>::with<member_hello>,
    caf::reacts_to<members_atom, caf::node_id, std::vector<std::string>>,
    caf::reacts_to<retry_atom, std::uint64_t /* member */, std::uint64_t /* attempt */>,
    caf::replies_to<metrics_atom>::with<std::vector<cluster_member>>>;

/// The one actor a node publishes on its cluster port (cluster/face.hpp): other nodes greet it to
/// link and tell it the members they know; actor clients and workers of other CAF nodes submit
/// through it under the rules of the wire endpoints. Nothing else of the node is reachable from
/// the cluster port. `bind` (from this node only, once) gives it the membership actor.
using cluster_face_actor =
    submission_actor::extend<caf::replies_to<hello_atom, member_hello>::with<member_hello>,
                             caf::reacts_to<members_atom, std::vector<std::string>>,
                             caf::reacts_to<bind_atom, cluster_membership_actor>>;

/// What the cluster face spawns for each actor client or worker of another CAF node: a peer of
/// the Switchboard in its place, so that the remote actor only ever sees this stand-in. It passes
/// the remote actor's messages (through the face) to the Switchboard and the Switchboard's frames
/// to the remote actor.
using cluster_stand_in_actor =
    peer_actor::extend<caf::reacts_to<run_atom, cookie, bool /* detach */, frame>,
                       caf::reacts_to<run_atom, cookie, bool /* detach */, frame, run_settings>,
                       caf::reacts_to<cancel_atom, cookie, frame>,
                       caf::reacts_to<register_atom, std::uint32_t /* capacity */>,
                       caf::reacts_to<register_atom, std::uint32_t /* capacity */,
                                      std::vector<std::string> /* pipelines */>,
                       caf::reacts_to<result_atom, cookie, frame>>;

/// The Switchboard: owns every route and worker slot. Each message from a peer is identified by
/// its sender, which must have sent `join` first (the Switchboard then monitors it; its down
/// message ends the peer); a socket client joins with its host, by which `max-runs-per-address`
/// counts. RUN and CANCEL frames come from clients, REGISTER and RESULT from
/// workers (a REGISTER's token was checked by whoever passes it on: a connection or the cluster
/// face; in-process actors are trusted), already checked by the sender for the stateless rules
/// (cookie present, pipeline present, capacity >= 1). A `link_worker` link sets its free slots with
/// `capacity`; a `link_client` link gets this node's free local slots as `capacity` messages,
/// batched. A RESULT may carry the `rc` its sender already read (else the Switchboard reads it for
/// its counters); `metrics` answers a detailed snapshot for the admin endpoint. A socket connection
/// passes the RUNs, CANCELs and RESULTs of one read as one `packets` message; what the
/// Switchboard delivers while it handles them goes out as one message per peer. `grace`,
/// `deadline` and `tick` are the Switchboard's own timers (a cancel grace, the earliest task
/// deadline, the refresh of slot offers to links); `flush` sends batched offers.
using switchboard_actor = caf::typed_actor<
    caf::reacts_to<join_atom, peer_role>,
    caf::reacts_to<join_atom, peer_role, std::string /* peer host */>,
    caf::reacts_to<join_atom, peer_role, std::string /* peer host */, bool /* cancels by cookie */,
                   std::string /* transport */>,
    caf::reacts_to<run_atom, cookie, bool /* detach */, frame>,
    caf::reacts_to<run_atom, cookie, bool /* detach */, frame, run_settings>,
    caf::reacts_to<cancel_atom, cookie, frame>,
    caf::reacts_to<register_atom, std::uint32_t /* capacity */>,
    caf::reacts_to<register_atom, std::uint32_t /* capacity */, std::string /* token */>,
    caf::reacts_to<register_atom, std::uint32_t /* capacity */,
                   std::vector<std::string> /* pipelines */>,
    caf::reacts_to<register_atom, std::uint32_t /* capacity */, std::string /* token */,
                   std::vector<std::string> /* pipelines */>,
    caf::reacts_to<result_atom, cookie, frame>,
    caf::reacts_to<result_atom, cookie, protocol::result_code /* rc */, frame>,
    caf::reacts_to<packets_atom, std::vector<routed_packet>>,
    caf::reacts_to<grace_atom, cookie, std::uint64_t /* route generation */>,
    caf::reacts_to<deadline_atom>, caf::reacts_to<capacity_atom, slot_offer>,
    caf::reacts_to<flush_atom>, caf::reacts_to<tick_atom>, caf::reacts_to<journal_atom>,
    caf::reacts_to<replay_atom, std::vector<journal::journal_entry>>,
    caf::replies_to<status_atom>::with<switchboard_status>,
    caf::replies_to<metrics_atom>::with<switchboard_snapshot>,
    caf::replies_to<drain_atom>::with<done_atom>, caf::replies_to<shutdown_atom>::with<done_atom>>;

/// Reads large frames off the I/O thread: a connection hands it each frame over
/// `large_frame_bytes` and goes on with the answer, so that checking a frame of many megabytes
/// never holds up the other connections.
using frame_reader_actor =
    caf::typed_actor<caf::replies_to<read_atom, frame>::with<protocol::read_result>>;

/// Frames larger than this are read by the frame reader, not on the I/O thread (checking JSON of
/// many small keys runs at about 170 MB/s: 64 KiB is at most about 0.4 ms).
inline constexpr std::size_t large_frame_bytes = 64 * 1024;

/// A socket connection: a peer that also takes frames read from its socket, the end of its
/// socket, and the Broker's order to close.
using connection_actor = peer_actor::extend<caf::reacts_to<frames_atom, std::vector<frame>>,
                                            caf::reacts_to<closed_atom, std::string /* reason */>,
                                            caf::reacts_to<close_atom>>;

/// A client without a socket: a CAF actor (in this process or on another node) that submits runs
/// to a Switchboard and gets each RESULT as the reply to its request; a request with
/// run_settings sets the RUN's priority and retries. Cancelling makes the run's reply the
/// worker's (or the broker's) answer to the CANCEL.
using actor_client_actor = peer_actor::extend<
    caf::replies_to<run_atom, std::string /* pipeline */,
                    std::string /* variables */>::with<run_outcome>,
    caf::replies_to<run_atom, std::string /* pipeline */, std::string /* variables */,
                    run_settings>::with<run_outcome>,
    caf::reacts_to<cancel_atom, cookie>>;

/// The Broker: supervises listeners and connections and runs the orderly shutdown.
using broker_actor = caf::typed_actor<
    caf::reacts_to<accept_atom, peer_role, std::shared_ptr<transport::channel>,
                   std::string /* endpoint */>,
    caf::reacts_to<tick_atom>, caf::reacts_to<close_atom /* shutdown took too long */>,
    caf::replies_to<status_atom>::with<switchboard_status>,
    caf::replies_to<metrics_atom>::with<node_snapshot>,
    caf::replies_to<health_atom>::with<bool /* accepting */>,
    caf::replies_to<drain_atom>::with<done_atom>, caf::replies_to<shutdown_atom>::with<done_atom>>;

} // namespace rcbroker::actors
