// The Switchboard's cluster roles, driven message by message through CAF's deterministic test
// coordinator: fake links record the frames and the free slot counts the Switchboard sends them.

#include "switchboard_fixture.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace rcbroker::actors {
namespace {

using namespace std::chrono_literals;
using namespace sbtest;

/// A stand-in for a link between two nodes: records the frames and the slot offers it is sent.
struct fake_link : fake_peer {
  std::shared_ptr<std::vector<slot_offer>> offers;

  /// Returns the free slot counts of the offers received so far and forgets them.
  std::vector<std::uint64_t> take_capacities() {
    std::vector<std::uint64_t> counts;
    for (auto& o : take_offers())
      counts.push_back(o.total);
    return counts;
  }

  /// Returns the offers received so far and forgets them.
  std::vector<slot_offer> take_offers() {
    auto got = std::move(*offers);
    offers->clear();
    return got;
  }
};

/// An offer of `total` slots, `any` of them for every pipeline, the rest per pipeline.
slot_offer offer_of(std::uint64_t total, std::uint64_t any,
                    std::map<std::string, std::uint64_t> by_pipeline = {}) {
  slot_offer o;
  o.total = total;
  o.any = any;
  o.by_pipeline.insert(by_pipeline.begin(), by_pipeline.end());
  return o;
}

/// A RUN of `pipeline` as an extended client writes it; `extra` is appended as fields.
frame run_of(const cookie& c, const std::string& pipeline, const std::string& extra = "") {
  return frame{R"({"packet_type":"RUN","cookie":")" + c.to_string() + R"(","pipeline":")" +
               pipeline + R"(","variables":"{}")" + extra + "}"};
}

/// The Switchboard with peers in the cluster roles as well.
class SwitchboardClusterTest : public SwitchboardTest {
protected:
  /// The batching period of capacity updates to link clients.
  static constexpr caf::timespan flush_period = std::chrono::milliseconds{5};

  fake_link spawn_link() {
    auto inbox = std::make_shared<std::vector<frame>>();
    auto offers = std::make_shared<std::vector<slot_offer>>();
    auto handle = sys_.spawn(
        [](cluster_link_actor::pointer, std::shared_ptr<std::vector<frame>> inbox,
           std::shared_ptr<std::vector<slot_offer>> offers) -> cluster_link_actor::behavior_type {
          return {
              [inbox](deliver_atom, const frame& f) { inbox->push_back(f); },
              [inbox](deliver_atom, const std::vector<frame>& fs) {
                inbox->insert(inbox->end(), fs.begin(), fs.end());
              },
              [offers](capacity_atom, const slot_offer& o) { offers->push_back(o); },
          };
        },
        inbox, offers);
    fake_link link;
    link.handle = caf::actor_cast<peer_actor>(handle);
    link.inbox = inbox;
    link.offers = offers;
    // As a plain peer, so that the fixture stops it and counts its frames at shutdown.
    peers_.push_back(link);
    return link;
  }

  fake_link join_link(peer_role role) {
    auto link = spawn_link();
    caf::send_as(link.handle, sb_, join_atom::value, role);
    sched_.run();
    return link;
  }

  /// Another node's link, submitting work here.
  fake_link link_client() { return join_link(peer_role::link_client); }

  /// This node's link to another node that has `offered` free slots.
  fake_link link_worker(std::uint64_t offered) {
    auto link = join_link(peer_role::link_worker);
    offer(link, offered);
    return link;
  }

  void offer(const fake_peer& link, std::uint64_t free) { offer(link, offer_of(free, free)); }

  void offer(const fake_peer& link, slot_offer o) {
    caf::send_as(link.handle, sb_, capacity_atom::value, std::move(o));
    sched_.run();
  }

  /// A worker with `capacity` slots that serves only `pipelines`.
  fake_peer worker_for(std::uint32_t capacity, std::vector<std::string> pipelines) {
    auto peer = join(peer_role::worker);
    caf::send_as(peer.handle, sb_, register_atom::value, capacity, std::move(pipelines));
    sched_.run();
    return peer;
  }

  /// Sends `f` as the RUN of `c` from `client` (an actor or a link: the Switchboard reads it).
  void send_run(const fake_peer& client, const cookie& c, frame f) {
    caf::send_as(client.handle, sb_, run_atom::value, c, false, std::move(f));
    sched_.run();
  }

  /// Sends a frame from a link worker as its outbound half passes on another node's PROGRESS.
  void send_progress(const fake_peer& link, const cookie& c, const std::string& tag) {
    routed_packet p;
    p.type = packet_type::progress;
    p.id = c;
    p.bytes = frame{R"({"packet_type":"PROGRESS","cookie":")" + c.to_string() + R"(","result":"")" +
                    tag + R"(""})"};
    caf::send_as(link.handle, sb_, packets_atom::value, std::vector<routed_packet>{p});
    sched_.run();
  }

  /// Sends a RESULT with `rc` from `worker` for `c`.
  void result_with(const fake_peer& worker, const cookie& c, result_code rc) {
    auto f = frame{R"({"packet_type":"RESULT","cookie":")" + c.to_string() + R"(","rc":")" +
                   std::string{protocol::to_string(rc)} + R"(","error":"gone"})"};
    caf::send_as(worker.handle, sb_, result_atom::value, c, rc, f);
    sched_.run();
  }
};

// -- capacity updates to link clients --------------------------------------------------------

TEST_F(SwitchboardClusterTest, AClusterClientJoiningGetsTheFreeLocalCountAtOnce) {
  start();
  auto early = link_client();
  EXPECT_EQ(early.take_capacities(), std::vector<std::uint64_t>{0});
  auto w = worker(3);
  auto cw = link_worker(5); // another node's slots are never offered on
  auto c = client();
  run(c, cookie_n(1));
  auto late = link_client();
  EXPECT_EQ(late.take_capacities(), std::vector<std::uint64_t>{2});
  EXPECT_TRUE(early.take_capacities().empty()); // batched: not yet
  EXPECT_TRUE(late.take().empty());
  EXPECT_TRUE(cw.take_capacities().empty());
  auto s = status();
  EXPECT_EQ(s.cluster_links, 1u);
  EXPECT_EQ(s.cluster_free_slots, 5u);
  EXPECT_EQ(s.free_slots, 2u);
}

TEST_F(SwitchboardClusterTest, CapacityUpdatesAreBatchedWithTheFinalCount) {
  start();
  auto w = worker(3);
  auto link = link_client();
  ASSERT_EQ(link.take_capacities(), std::vector<std::uint64_t>{3});
  auto c = client();
  run(c, cookie_n(1));    // 2 free
  run(c, cookie_n(2));    // 1 free
  result(w, cookie_n(1)); // 2 free
  advance(4ms);
  EXPECT_TRUE(link.take_capacities().empty());
  advance(1ms);
  EXPECT_EQ(link.take_capacities(), std::vector<std::uint64_t>{2});
  // Changes within a period that end where the last update left the count send nothing.
  run(c, cookie_n(3)); // 1 free
  advance(4ms);
  result(w, cookie_n(3)); // 2 free
  advance(flush_period * 3);
  EXPECT_TRUE(link.take_capacities().empty());
  // One change goes out one period later.
  run(c, cookie_n(4)); // 1 free
  advance(4ms);
  EXPECT_TRUE(link.take_capacities().empty());
  advance(1ms);
  EXPECT_EQ(link.take_capacities(), std::vector<std::uint64_t>{1});
  // A change right after an update waits a whole period, and the count at its end goes out.
  run(c, cookie_n(5)); // 0 free
  advance(4ms);
  EXPECT_TRUE(link.take_capacities().empty());
  result(w, cookie_n(5)); // 1 free
  run(c, cookie_n(6));    // 0 free
  advance(1ms);
  EXPECT_EQ(link.take_capacities(), std::vector<std::uint64_t>{0});
  // A worker going away changes the count too.
  result(w, cookie_n(6)); // 1 free
  advance(flush_period);
  ASSERT_EQ(link.take_capacities(), std::vector<std::uint64_t>{1});
  kill(w);
  advance(flush_period);
  EXPECT_EQ(link.take_capacities(), std::vector<std::uint64_t>{0});
  advance(flush_period * 3);
  EXPECT_TRUE(link.take_capacities().empty());
}

TEST_F(SwitchboardClusterTest, NoUpdateWhenTheCountEndsWhereItWasAtTheJoin) {
  start();
  auto w = worker(2);
  auto c = client();
  auto link = link_client();
  ASSERT_EQ(link.take_capacities(), std::vector<std::uint64_t>{2});
  run(c, cookie_n(1));
  result(w, cookie_n(1));
  advance(flush_period * 2);
  EXPECT_TRUE(link.take_capacities().empty());
  // A second link joining while an update is pending gets only what it has not heard yet.
  run(c, cookie_n(2)); // 1 free, update pending
  auto second = link_client();
  ASSERT_EQ(second.take_capacities(), std::vector<std::uint64_t>{1});
  advance(flush_period);
  EXPECT_EQ(link.take_capacities(), std::vector<std::uint64_t>{1});
  EXPECT_TRUE(second.take_capacities().empty());
}

TEST_F(SwitchboardClusterTest, OfferedSlotsAreNotReportedToClusterClients) {
  start();
  auto w = worker(1);
  auto link = link_client();
  ASSERT_EQ(link.take_capacities(), std::vector<std::uint64_t>{1});
  auto cw = link_worker(4);
  auto c = client();
  run(c, cookie_n(1)); // local: 0 free
  run(c, cookie_n(2)); // remote
  result(cw, cookie_n(2));
  offer(cw, 7);
  advance(flush_period);
  EXPECT_EQ(link.take_capacities(), std::vector<std::uint64_t>{0});
  EXPECT_EQ(status().cluster_free_slots, 7u);
}

// -- RUN from a link client ------------------------------------------------------------------

TEST_F(SwitchboardClusterTest, AClusterClientsRunUsesOnlyLocalSlotsAndNeverWaits) {
  switchboard_config config;
  config.queue_limit = 5;
  start(config);
  auto cw = link_worker(3);
  auto link = link_client();
  run(link, cookie_n(1)); // only remote slots free
  auto got = link.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::no_capacity, "No capacity available"));
  EXPECT_TRUE(cw.take().empty());
  auto s = status();
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.cluster_free_slots, 3u);
  EXPECT_EQ(s.cluster_runs_sent, 0u);
  auto w = worker(1);
  auto sent = run(link, cookie_n(2));
  got = w.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), sent.payload());
  EXPECT_TRUE(link.take().empty());
  run(link, cookie_n(3)); // the local slot is busy
  got = link.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(3), result_code::no_capacity, "No capacity available"));
  EXPECT_TRUE(cw.take().empty());
  s = status();
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.cluster_runs_received, 3u);
  EXPECT_EQ(s.cluster_runs_sent, 0u);
  EXPECT_EQ(s.runs_accepted, 1u);
  // Its CANCEL goes to the local worker, the worker's RESULT back to the link.
  auto cancelled = cancel(link, cookie_n(2));
  got = w.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), cancelled.payload());
  auto answer = result(w, cookie_n(2), "stopped");
  got = link.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), answer.payload());
  s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.free_slots, 1u);
}

TEST_F(SwitchboardClusterTest, AClusterClientsRunIsNotQueuedBehindPlainClients) {
  switchboard_config config;
  config.queue_limit = 5;
  start(config);
  auto c = client();
  run(c, cookie_n(1)); // queued
  auto link = link_client();
  run(link, cookie_n(2));
  auto got = link.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(2), result_code::no_capacity, "No capacity available"));
  EXPECT_EQ(status().queued, 1u);
  auto w = worker(1);
  got = w.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(cookie_of(got[0]), cookie_n(1));
}

// -- RUN to a cluster worker --------------------------------------------------------------------

TEST_F(SwitchboardClusterTest, APlainClientsRunPrefersLocalSlotsThenOfferedOnes) {
  start();
  auto cw = link_worker(2); // offered before any local slot exists
  auto w = worker(1);
  auto c = client();
  auto local = run(c, cookie_n(1));
  auto got = w.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), local.payload());
  EXPECT_TRUE(cw.take().empty());
  auto remote_a = run(c, cookie_n(2));
  auto remote_b = run(c, cookie_n(3), true);
  got = cw.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload(), remote_a.payload());
  EXPECT_EQ(got[1].payload(), remote_b.payload());
  run(c, cookie_n(4));
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(4), result_code::no_capacity, "No capacity available"));
  auto s = status();
  EXPECT_EQ(s.runs_accepted, 3u);
  EXPECT_EQ(s.cluster_runs_sent, 2u);
  EXPECT_EQ(s.cluster_runs_received, 0u);
  EXPECT_EQ(s.cluster_free_slots, 0u);
  EXPECT_EQ(s.free_slots, 0u);
  EXPECT_EQ(s.routes, 3u);
  // With both kinds free again, the local slot still goes first.
  result(w, cookie_n(1));
  offer(cw, 2);
  run(c, cookie_n(5));
  EXPECT_EQ(w.take().size(), 1u);
  EXPECT_TRUE(cw.take().empty());
  EXPECT_EQ(status().cluster_runs_sent, 2u);
}

TEST_F(SwitchboardClusterTest, ACapacityUpdateSetsTheOfferedSlotsRatherThanAddingToThem) {
  start();
  auto a = link_worker(3);
  auto b = link_worker(2);
  auto s = status();
  EXPECT_EQ(s.cluster_links, 2u);
  EXPECT_EQ(s.cluster_free_slots, 5u);
  offer(a, 1);
  EXPECT_EQ(status().cluster_free_slots, 3u);
  offer(b, 0);
  EXPECT_EQ(status().cluster_free_slots, 1u);
  auto c = client();
  run(c, cookie_n(1));
  run(c, cookie_n(2));
  EXPECT_EQ(a.take().size(), 1u);
  EXPECT_TRUE(b.take().empty());
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(2), result_code::no_capacity, "No capacity available"));
}

TEST_F(SwitchboardClusterTest, AClusterWorkersResultEndsTheRouteAndFreesARemoteSlot) {
  start();
  auto cw = link_worker(1);
  auto link = link_client();
  link.take_capacities();
  auto c = client();
  run(c, cookie_n(1));
  ASSERT_EQ(cw.take().size(), 1u);
  run(c, cookie_n(2));
  ASSERT_EQ(c.take().size(), 1u); // NO_CAPACITY
  // Its CANCEL goes over the link too.
  auto cancelled = cancel(c, cookie_n(1));
  auto got = cw.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), cancelled.payload());
  // A RESULT for a route it does not run changes nothing.
  result(cw, cookie_n(9), "forged");
  auto s = status();
  EXPECT_EQ(s.results_dropped, 1u);
  EXPECT_EQ(s.cluster_free_slots, 0u);
  auto answer = result(cw, cookie_n(1), "from afar");
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), answer.payload());
  s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.results_forwarded, 1u);
  EXPECT_EQ(s.cluster_free_slots, 1u);
  EXPECT_EQ(s.free_slots, 0u);
  run(c, cookie_n(1)); // the cookie and the remote slot are free again
  EXPECT_EQ(cw.take().size(), 1u);
  EXPECT_TRUE(c.take().empty());
  advance(flush_period);
  EXPECT_TRUE(link.take_capacities().empty()); // the local count never changed
}

TEST_F(SwitchboardClusterTest, AClusterWorkersLossEndsExactlyItsRoutesAndDropsItsSlots) {
  start();
  auto w = worker(1);
  auto other = link_worker(1);
  auto cw = link_worker(4);
  auto a = client();
  auto b = client();
  run(a, cookie_n(1));       // w
  run(b, cookie_n(5));       // other
  run(b, cookie_n(2));       // cw
  run(a, cookie_n(3));       // cw
  run(a, cookie_n(4), true); // cw, detached: hears nothing
  EXPECT_EQ(w.take().size(), 1u);
  EXPECT_EQ(other.take().size(), 1u);
  EXPECT_EQ(cw.take().size(), 3u);
  EXPECT_EQ(status().cluster_free_slots, 1u);
  kill(cw);
  auto got_a = a.take();
  ASSERT_EQ(got_a.size(), 1u);
  EXPECT_TRUE(is_result(got_a[0], cookie_n(3), result_code::worker_went_away,
                        "The worker connection went away"));
  auto got_b = b.take();
  ASSERT_EQ(got_b.size(), 1u);
  EXPECT_TRUE(is_result(got_b[0], cookie_n(2), result_code::worker_went_away,
                        "The worker connection went away"));
  EXPECT_TRUE(w.take().empty());
  EXPECT_TRUE(other.take().empty());
  auto s = status();
  EXPECT_EQ(s.cluster_links, 1u);
  EXPECT_EQ(s.cluster_free_slots, 0u);
  EXPECT_EQ(s.routes, 2u);
  run(b, cookie_n(6)); // its free slot went with it
  auto got = b.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(6), result_code::no_capacity, "No capacity available"));
  // The other routes are untouched.
  result(w, cookie_n(1));
  result(other, cookie_n(5));
  EXPECT_EQ(a.take().size(), 1u);
  EXPECT_EQ(b.take().size(), 1u);
  EXPECT_EQ(status().routes, 0u);
}

TEST_F(SwitchboardClusterTest, AClusterWorkersCapacityDispatchesQueuedRuns) {
  switchboard_config config;
  config.queue_limit = 5;
  start(config);
  auto c = client();
  auto first = run(c, cookie_n(1));
  auto second = run(c, cookie_n(2));
  run(c, cookie_n(3));
  EXPECT_EQ(status().queued, 3u);
  auto cw = link_worker(0);
  EXPECT_TRUE(cw.take().empty());
  offer(cw, 2);
  auto got = cw.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload(), first.payload());
  EXPECT_EQ(got[1].payload(), second.payload());
  EXPECT_TRUE(c.take().empty());
  auto s = status();
  EXPECT_EQ(s.queued, 1u);
  EXPECT_EQ(s.routes, 3u);
  EXPECT_EQ(s.cluster_free_slots, 0u);
  EXPECT_EQ(s.cluster_runs_sent, 2u);
  // Its RESULT frees the slot for the last one.
  result(cw, cookie_n(1));
  got = cw.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(cookie_of(got[0]), cookie_n(3));
  EXPECT_EQ(status().queued, 0u);
}

// -- senders ------------------------------------------------------------------------------------

TEST_F(SwitchboardClusterTest, CapacityFromAnyoneButAClusterWorkerIsRejected) {
  start();
  auto stranger = spawn_link(); // never joins
  auto c = client();
  auto w = worker(1);
  auto link = link_client();
  offer(stranger, 4);
  offer(c, 4);
  offer(w, 4);
  offer(link, 4);
  auto s = status();
  EXPECT_EQ(s.messages_rejected, 4u);
  EXPECT_EQ(s.cluster_free_slots, 0u);
  EXPECT_EQ(s.free_slots, 1u);
  EXPECT_EQ(s.registered_slots, 1u);
  run(c, cookie_n(1));
  run(c, cookie_n(2));
  EXPECT_EQ(w.take().size(), 1u);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(2), result_code::no_capacity, "No capacity available"));
  link_worker(2);
  s = status();
  EXPECT_EQ(s.messages_rejected, 4u);
  EXPECT_EQ(s.cluster_free_slots, 2u);
}

TEST_F(SwitchboardClusterTest, RegisterFromALinkIsRejected) {
  start();
  auto cw = link_worker(0);
  auto link = link_client();
  link.take_capacities();
  register_slots(cw, 4);
  register_slots(link, 4);
  caf::send_as(link.handle, sb_, result_atom::value, cookie_n(1), result_frame(cookie_n(1)));
  sched_.run();
  auto s = status();
  EXPECT_EQ(s.messages_rejected, 3u);
  EXPECT_EQ(s.registered_slots, 0u);
  EXPECT_EQ(s.free_slots, 0u);
  EXPECT_EQ(s.cluster_free_slots, 0u);
  EXPECT_EQ(s.results_dropped, 0u);
  auto c = client();
  run(c, cookie_n(2));
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(2), result_code::no_capacity, "No capacity available"));
  EXPECT_TRUE(cw.take().empty());
  advance(flush_period);
  EXPECT_TRUE(link.take_capacities().empty());
}

// -- links ending -------------------------------------------------------------------------------

TEST_F(SwitchboardClusterTest, AClusterClientsLossOrphansItsRoutesLikeAClients) {
  switchboard_config config;
  config.cancel_orphans = true;
  start(config);
  auto w = worker(2);
  auto link = link_client();
  auto survivor = link_client();
  run(link, cookie_n(1));
  run(survivor, cookie_n(2));
  w.take();
  kill(link);
  auto got = w.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), protocol::make_cancel(cookie_n(1)).payload());
  EXPECT_EQ(status().routes, 2u); // the slot stays busy until the worker answers
  result(w, cookie_n(1));
  auto s = status();
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.free_slots, 1u);
  EXPECT_EQ(s.results_forwarded, 0u);
  EXPECT_TRUE(survivor.take().empty());
}

TEST_F(SwitchboardClusterTest, ShutdownTellsClusterWorkersButNotClusterClients) {
  start();
  auto w = worker(2);
  auto cw = link_worker(1);
  auto c = client();
  auto link = link_client();
  run(c, cookie_n(1));    // w
  run(link, cookie_n(2)); // w
  run(c, cookie_n(3));    // cw
  w.take();
  cw.take();
  auto frames_at_reply = shutdown();
  ASSERT_TRUE(frames_at_reply.has_value()) << "no done reply";
  for (auto* peer : {&w, static_cast<fake_peer*>(&cw)}) {
    auto got = peer->take();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].payload(), protocol::make_shutdown().payload());
  }
  auto got = c.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(
      is_result(got[0], cookie_n(1), result_code::broker_went_away, "The broker is shutting down"));
  EXPECT_TRUE(
      is_result(got[1], cookie_n(3), result_code::broker_went_away, "The broker is shutting down"));
  // The other node learns from the link going down, and answers its own clients then.
  EXPECT_TRUE(link.take().empty());
  EXPECT_EQ(*frames_at_reply, 4u);
  auto s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.cluster_free_slots, 0u);
  // Nothing new starts after the shutdown, from any side.
  run(link, cookie_n(4));
  got = link.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(
      is_result(got[0], cookie_n(4), result_code::broker_went_away, "The broker is shutting down"));
  EXPECT_TRUE(cw.take().empty());
}

// -- pipelines, progress and retries across links (issue 14) -------------------------------------

TEST_F(SwitchboardClusterTest, ALinkClientIsOfferedSlotsPerPipelineWhileSomeWorkerIsRestricted) {
  start();
  auto link = link_client();
  EXPECT_EQ(link.take_offers(), std::vector<slot_offer>{offer_of(0, 0)});
  auto alpha = worker_for(2, {"alpha", "beta"});
  auto every = worker(1);
  advance(flush_period);
  EXPECT_EQ(link.take_offers(),
            std::vector<slot_offer>{offer_of(3, 1, {{"alpha", 2}, {"beta", 2}})});
  // A slot of the restricted worker taken: the total and the pipelines it served change.
  auto c = client();
  send_run(c, cookie_n(1), run_of(cookie_n(1), "alpha"));
  ASSERT_EQ(alpha.take().size(), 1u);
  advance(flush_period);
  EXPECT_EQ(link.take_offers(),
            std::vector<slot_offer>{offer_of(2, 1, {{"alpha", 1}, {"beta", 1}})});
  // Once no worker is restricted, the offer is a count again.
  kill(alpha);
  advance(flush_period);
  EXPECT_EQ(link.take_offers(), std::vector<slot_offer>{offer_of(1, 1)});
  EXPECT_TRUE(every.take().empty());
}

TEST_F(SwitchboardClusterTest, ARunCrossesOnlyToANodeWhoseOfferServesItsPipeline) {
  start();
  auto alpha_node = link_worker(0);
  offer(alpha_node, offer_of(1, 0, {{"alpha", 1}}));
  auto any_node = link_worker(0);
  offer(any_node, offer_of(1, 1));
  auto c = client();
  send_run(c, cookie_n(1), run_of(cookie_n(1), "beta"));
  send_run(c, cookie_n(2), run_of(cookie_n(2), "alpha"));
  EXPECT_EQ(cookie_of(any_node.take().at(0)), cookie_n(1));
  EXPECT_EQ(cookie_of(alpha_node.take().at(0)), cookie_n(2));
  // The alpha node has no slot left for alpha, and none ever for gamma.
  offer(alpha_node, offer_of(1, 0, {{"alpha", 1}}));
  send_run(c, cookie_n(3), run_of(cookie_n(3), "gamma"));
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(3), result_code::no_capacity, "No capacity available"));
  EXPECT_TRUE(alpha_node.take().empty());
  EXPECT_EQ(status().cluster_runs_sent, 2u);
}

TEST_F(SwitchboardClusterTest, ProgressFromAnotherNodeReachesAnOptedInClientOnly) {
  start();
  auto cw = link_worker(2);
  auto c = client();
  send_run(c, cookie_n(1), run_of(cookie_n(1), "echo", R"(,"progress":true)"));
  send_run(c, cookie_n(2), run_of(cookie_n(2), "echo"));
  ASSERT_EQ(cw.take().size(), 2u);
  send_progress(cw, cookie_n(1), "half");
  send_progress(cw, cookie_n(2), "half");
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(cookie_of(got[0]), cookie_n(1));
  EXPECT_NE(got[0].payload().find("PROGRESS"), std::string_view::npos);
  EXPECT_EQ(status().routes, 2u) << "PROGRESS ends no route";
}

TEST_F(SwitchboardClusterTest, ALinkClientsRunGetsProgressAndNeverRunsAgainHere) {
  start();
  auto w1 = worker(1);
  auto w2 = worker(1);
  auto link = link_client();
  send_run(link, cookie_n(1), run_of(cookie_n(1), "echo", R"(,"progress":true,"retries":3)"));
  ASSERT_EQ(w1.take().size(), 1u);
  link.take();
  packets(w1, {routed_packet{packet_type::progress,
                             cookie_n(1),
                             false,
                             false,
                             {},
                             frame{R"({"packet_type":"PROGRESS","cookie":")" +
                                   cookie_n(1).to_string() + R"(","result":"1"})"}}});
  auto got = link.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].payload().find("PROGRESS"), std::string_view::npos);
  // The other node owns the retries: here the loss is answered, without attempts.
  kill(w1);
  EXPECT_TRUE(w2.take().empty());
  got = link.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::worker_went_away,
                        "The worker connection went away"));
  EXPECT_EQ(got[0].payload().find("attempts"), std::string_view::npos);
}

TEST_F(SwitchboardClusterTest, ATaskWhoseRemoteWorkerWentAwayRunsAgainWithTheSameFrame) {
  start();
  auto cw = link_worker(1);
  auto c = client();
  auto sent = run_of(cookie_n(1), "echo", R"(,"retries":1)");
  send_run(c, cookie_n(1), sent);
  auto first = cw.take();
  ASSERT_EQ(first.size(), 1u);
  auto w = worker(1); // registers after the RUN crossed
  result_with(cw, cookie_n(1), result_code::worker_went_away);
  EXPECT_TRUE(c.take().empty()) << "no WORKER_WENT_AWAY while a retry is left";
  auto again = w.take();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].payload(), sent.payload());
  result(w, cookie_n(1), "ok");
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].payload().find(R"("attempts":2})"), std::string_view::npos) << got[0].payload();
  // Without retries the other node's answer goes to the client.
  send_run(c, cookie_n(2), run_of(cookie_n(2), "echo"));
  send_run(c, cookie_n(3), run_of(cookie_n(3), "echo"));
  ASSERT_EQ(w.take().size(), 1u);
  ASSERT_EQ(cw.take().size(), 1u);
  result_with(cw, cookie_n(3), result_code::worker_went_away);
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(cookie_of(got[0]), cookie_n(3));
  EXPECT_EQ(protocol::read_packet(got[0]).fields.rc, result_code::worker_went_away);
}

TEST_F(SwitchboardClusterTest, AnUnreadableRunFromAnActorOrALinkIsAnsweredBadPacket) {
  start();
  auto w = worker(1);
  auto link = link_client();
  link.take();
  send_run(link, cookie_n(1), frame{"not json"});
  send_run(link, cookie_n(2), run_of(cookie_n(3), "echo")); // another cookie inside
  auto got = link.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(protocol::read_packet(got[0]).fields.rc, result_code::bad_packet);
  EXPECT_EQ(protocol::read_packet(got[1]).fields.rc, result_code::bad_packet);
  EXPECT_TRUE(w.take().empty());
}

TEST_F(SwitchboardClusterTest, AnOfferFollowsWhatTheOtherNodeMakesOfTheLastOne) {
  start();
  auto w1 = worker_for(1, {"alpha"});
  auto link = link_client();
  EXPECT_EQ(link.take_offers(), std::vector<slot_offer>{offer_of(1, 0, {{"alpha", 1}})});
  // The other node counts the slot as taken when it sends the RUN; a worker joining within the
  // same flush leaves the real offer as it was, yet the other node must hear of the slot.
  send_run(link, cookie_n(1), run_of(cookie_n(1), "alpha"));
  ASSERT_EQ(w1.take().size(), 1u);
  auto w2 = worker_for(1, {"alpha"});
  advance(flush_period);
  EXPECT_EQ(link.take_offers(), std::vector<slot_offer>{offer_of(1, 0, {{"alpha", 1}})});
  result(w1, cookie_n(1));
  ASSERT_EQ(link.take().size(), 1u);
  advance(flush_period);
  EXPECT_EQ(link.take_offers(), std::vector<slot_offer>{offer_of(2, 0, {{"alpha", 2}})});
  // Without restricted workers a RESULT going back says all there is: no offer follows it.
  kill(w1);
  kill(w2);
  auto w = worker(1);
  advance(flush_period);
  EXPECT_EQ(link.take_offers(), std::vector<slot_offer>{offer_of(1, 1)});
  send_run(link, cookie_n(2), run_of(cookie_n(2), "beta"));
  ASSERT_EQ(w.take().size(), 1u);
  advance(flush_period);
  EXPECT_TRUE(link.take_offers().empty());
  result(w, cookie_n(2));
  advance(flush_period);
  EXPECT_TRUE(link.take_offers().empty());
  // Once a second, every link hears the offer as it is, whatever it makes of it.
  advance(1s);
  EXPECT_EQ(link.take_offers(), std::vector<slot_offer>{offer_of(1, 1)});
}

TEST_F(SwitchboardClusterTest, ALinkClientsRunAnsweredAtOnceLeavesItsOfferWhereItWas) {
  start();
  auto w = worker(2);
  auto link = link_client();
  EXPECT_EQ(link.take_offers(), std::vector<slot_offer>{offer_of(2, 2)});
  send_run(link, cookie_n(1), run_of(cookie_n(1), "echo"));
  ASSERT_EQ(w.take().size(), 1u);
  // The same cookie again: COOKIE_COLLISION at once. The other node took a slot for it and gets
  // it back with the answer: nothing to tell.
  send_run(link, cookie_n(1), run_of(cookie_n(1), "echo"));
  auto got = link.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(protocol::read_packet(got[0]).fields.rc, result_code::cookie_collision);
  advance(flush_period);
  EXPECT_TRUE(link.take_offers().empty());
}

} // namespace
} // namespace rcbroker::actors
