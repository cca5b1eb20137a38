// The Switchboard, driven message by message through CAF's deterministic test coordinator:
// fake peers record every frame delivered to them, and each test asserts on those frames and on
// the Switchboard's status snapshot.

#include "switchboard_fixture.hpp"

#include <chrono>

namespace rcbroker::actors {
namespace {

using namespace std::chrono_literals;
using namespace sbtest;

// -- RUN from a client --------------------------------------------------------------------------

TEST_F(SwitchboardTest, RunIsForwardedUnchangedToAFreeSlot) {
  start();
  auto w = worker(1);
  auto c = client();
  auto sent = run(c, cookie_n(1));
  auto got = w.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), sent.payload());
  EXPECT_TRUE(c.take().empty());
  auto s = status();
  EXPECT_EQ(s.clients, 1u);
  EXPECT_EQ(s.workers, 1u);
  EXPECT_EQ(s.registered_slots, 1u);
  EXPECT_EQ(s.free_slots, 0u);
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.runs_accepted, 1u);
}

TEST_F(SwitchboardTest, APacketsBatchIsRoutedInOrderWithOneDeliveryPerPeer) {
  start();
  auto w = worker(4);
  auto c = client();
  std::vector<routed_packet> runs;
  for (std::uint8_t n = 1; n <= 3; ++n)
    runs.push_back({packet_type::run, cookie_n(n), false, false, {}, run_frame(cookie_n(n))});
  runs.push_back({packet_type::run, cookie_n(2), false, false, {}, run_frame(cookie_n(2))});
  packets(c, runs);
  auto got = w.take();
  ASSERT_EQ(got.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(got[i].payload(), runs[i].bytes.payload());
  EXPECT_EQ(*w.deliveries, 1u) << "the batch's three RUNs come as one message";
  auto answers = c.take();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(is_result(answers[0], cookie_n(2), result_code::cookie_collision, "Already in use"));
  // RESULTs as a worker's read passes them: with and without the rc read by the connection.
  auto r1 = result_frame(cookie_n(1), "one");
  auto r3 = result_frame(cookie_n(3), "three");
  packets(w, {{packet_type::result, cookie_n(3), false, true, result_code::ok, r3},
              {packet_type::result, cookie_n(1), false, false, {}, r1}});
  auto results = c.take();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].payload(), r3.payload());
  EXPECT_EQ(results[1].payload(), r1.payload());
  EXPECT_EQ(*c.deliveries, 2u) << "the collision, then both RESULTs in one message";
  auto s = status();
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.free_slots, 3u);
  EXPECT_EQ(s.results_forwarded, 2u);
}

TEST_F(SwitchboardTest, RunWithACookieInUseGetsCookieCollision) {
  start();
  auto w = worker(3);
  auto a = client();
  auto b = client();
  run(a, cookie_n(1));
  run(b, cookie_n(1)); // another client's route
  run(a, cookie_n(1)); // its own route
  auto got_b = b.take();
  ASSERT_EQ(got_b.size(), 1u);
  EXPECT_TRUE(is_result(got_b[0], cookie_n(1), result_code::cookie_collision, "Already in use"));
  auto got_a = a.take();
  ASSERT_EQ(got_a.size(), 1u);
  EXPECT_TRUE(is_result(got_a[0], cookie_n(1), result_code::cookie_collision, "Already in use"));
  EXPECT_EQ(w.take().size(), 1u);
  auto s = status();
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.free_slots, 2u);
}

TEST_F(SwitchboardTest, RunWithoutAFreeSlotGetsNoCapacity) {
  start();
  auto c = client();
  run(c, cookie_n(1)); // no worker at all
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::no_capacity, "No capacity available"));
  auto w = worker(1);
  run(c, cookie_n(2));
  run(c, cookie_n(3)); // the only slot is busy
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(3), result_code::no_capacity, "No capacity available"));
  auto at_worker = w.take();
  ASSERT_EQ(at_worker.size(), 1u);
  EXPECT_EQ(cookie_of(at_worker[0]), cookie_n(2));
  auto s = status();
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.runs_accepted, 1u);
}

// -- CANCEL from a client -----------------------------------------------------------------------

TEST_F(SwitchboardTest, CancelIsForwardedToTheWorkerAndTheRouteStays) {
  start();
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1));
  w.take();
  auto sent = cancel(c, cookie_n(1));
  auto got = w.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), sent.payload());
  EXPECT_TRUE(c.take().empty());
  auto s = status();
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.free_slots, 0u);
  auto answer = result(w, cookie_n(1), "stopped");
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), answer.payload());
  EXPECT_EQ(status().free_slots, 1u);
}

TEST_F(SwitchboardTest, CancelOfAnUnknownCookieGetsCookieNotFound) {
  start();
  auto w = worker(1);
  auto c = client();
  cancel(c, cookie_n(9));
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(9), result_code::cookie_not_found, "No such cookie"));
  EXPECT_TRUE(w.take().empty());
}

TEST_F(SwitchboardTest, CancelOfAnotherClientsRouteGetsCookieNotFound) {
  start();
  auto w = worker(1);
  auto owner = client();
  auto other = client();
  run(owner, cookie_n(1));
  w.take();
  cancel(other, cookie_n(1));
  auto got = other.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::cookie_not_found, "No such cookie"));
  EXPECT_TRUE(w.take().empty());
  EXPECT_TRUE(owner.take().empty());
  EXPECT_EQ(status().routes, 1u);
}

TEST_F(SwitchboardTest, HttpRequestsCancelEachOthersRunsByCookie) {
  start();
  auto w = worker(1);
  auto owner = http_client();
  auto canceller = http_client();
  run(owner, cookie_n(1));
  w.take();
  auto sent = cancel(canceller, cookie_n(1));
  auto ack = canceller.take();
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_TRUE(is_result(ack[0], cookie_n(1), result_code::ok,
                        "Cancel taken; the run's own request gets its RESULT"));
  auto got = w.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), sent.payload());
  EXPECT_TRUE(owner.take().empty());
  // A second CANCEL is taken too, and dropped as for the owner's.
  cancel(canceller, cookie_n(1));
  EXPECT_EQ(canceller.take().size(), 1u);
  EXPECT_TRUE(w.take().empty());
  auto answer = result(w, cookie_n(1), "stopped");
  got = owner.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), answer.payload());
  EXPECT_TRUE(canceller.take().empty());
  EXPECT_EQ(status().routes, 0u);
  // Two acknowledgements and the run's RESULT went to HTTP clients.
  auto by_transport = snapshot().results_by_transport;
  ASSERT_EQ(by_transport.size(), 1u);
  EXPECT_EQ(by_transport[0].transport, "http");
  EXPECT_EQ(by_transport[0].count, 3u);
}

TEST_F(SwitchboardTest, CancelByCookieNeedsBothSidesToBeHttpRequests) {
  start();
  auto w = worker(2);
  auto socket_client = client_from("10.0.0.1");
  auto http = http_client();
  run(socket_client, cookie_n(1));
  run(http, cookie_n(2));
  w.take();
  cancel(http, cookie_n(1)); // a socket client's run
  auto got = http.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::cookie_not_found, "No such cookie"));
  cancel(socket_client, cookie_n(2)); // an HTTP request's run, from a socket client
  got = socket_client.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(2), result_code::cookie_not_found, "No such cookie"));
  EXPECT_TRUE(w.take().empty());
  EXPECT_EQ(status().routes, 2u);
}

TEST_F(SwitchboardTest, HttpCancelOfAQueuedRunAnswersBoth) {
  switchboard_config config;
  config.queue_limit = 5;
  start(config);
  auto owner = http_client();
  auto canceller = http_client();
  run(owner, cookie_n(1));
  cancel(canceller, cookie_n(1));
  auto ack = canceller.take();
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_TRUE(is_result(ack[0], cookie_n(1), result_code::ok,
                        "Cancel taken; the run's own request gets its RESULT"));
  auto got = owner.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::exception, "Cancelled"));
  EXPECT_EQ(status().queued, 0u);
  EXPECT_EQ(status().routes, 0u);
}

// Asks `sb` to drain; `drained` becomes true with its reply.
void ask_drain(caf::event_based_actor* self, switchboard_actor sb, std::shared_ptr<bool> drained) {
  self->request(sb, caf::infinite, drain_atom::value).then([drained](done_atom) {
    *drained = true;
  });
}

TEST_F(SwitchboardTest, DrainRefusesNewRunsAndAnswersOnceTheOpenTasksEnd) {
  start();
  auto w = worker(2);
  auto c = client();
  run(c, cookie_n(1));
  w.take();
  auto drained = std::make_shared<bool>(false);
  sys_.spawn(ask_drain, sb_, drained);
  sched_.run();
  EXPECT_FALSE(*drained) << "a task is still open";
  run(c, cookie_n(2));
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(2), result_code::no_capacity,
                        "The node is draining before it stops: it takes no new RUNs; send this "
                        "one to another node"));
  EXPECT_TRUE(w.take().empty());
  result(w, cookie_n(1));
  EXPECT_EQ(c.take().size(), 1u); // the open task's RESULT still reaches its client
  sched_.run();
  EXPECT_TRUE(*drained);
}

// -- REGISTER and RESULT from a worker ----------------------------------------------------------

TEST_F(SwitchboardTest, RegisterAddsSlotsAndASecondRegisterAddsMore) {
  start();
  auto w = worker(2);
  auto s = status();
  EXPECT_EQ(s.workers, 1u);
  EXPECT_EQ(s.registered_slots, 2u);
  EXPECT_EQ(s.free_slots, 2u);
  register_slots(w, 3);
  s = status();
  EXPECT_EQ(s.registered_slots, 5u);
  EXPECT_EQ(s.free_slots, 5u);
  auto c = client();
  for (std::uint8_t i = 1; i <= 6; ++i)
    run(c, cookie_n(i));
  EXPECT_EQ(w.take().size(), 5u);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(6), result_code::no_capacity, "No capacity available"));
}

TEST_F(SwitchboardTest, ResultEndsTheRouteFreesTheSlotAndGoesToTheClient) {
  start();
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1));
  auto answer = result(w, cookie_n(1), "forty-two");
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), answer.payload());
  auto s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.free_slots, 1u);
  EXPECT_EQ(s.results_forwarded, 1u);
  EXPECT_EQ(s.results_dropped, 0u);
  // The cookie is free again.
  run(c, cookie_n(1));
  EXPECT_EQ(w.take().size(), 2u);
  EXPECT_TRUE(c.take().empty());
}

TEST_F(SwitchboardTest, ResultOfADetachedRunIsNotForwarded) {
  start();
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1), true);
  EXPECT_EQ(w.take().size(), 1u);
  result(w, cookie_n(1));
  EXPECT_TRUE(c.take().empty());
  auto s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.free_slots, 1u);
  EXPECT_EQ(s.results_forwarded, 0u);
}

TEST_F(SwitchboardTest, ResultForAnUnknownCookieIsDroppedAndCounted) {
  start();
  auto w = worker(1);
  auto c = client();
  result(w, cookie_n(5));
  EXPECT_TRUE(c.take().empty());
  auto s = status();
  EXPECT_EQ(s.results_dropped, 1u);
  EXPECT_EQ(s.free_slots, 1u); // no slot made up
  EXPECT_EQ(s.registered_slots, 1u);
}

TEST_F(SwitchboardTest, ResultForAnotherWorkersRouteIsDroppedAndCounted) {
  start();
  auto w1 = worker(1);
  auto w2 = worker(1);
  auto c = client();
  run(c, cookie_n(1)); // goes to w1, registered first
  ASSERT_EQ(w1.take().size(), 1u);
  result(w2, cookie_n(1), "forged");
  EXPECT_TRUE(c.take().empty());
  auto s = status();
  EXPECT_EQ(s.results_dropped, 1u);
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.free_slots, 1u); // w2's slot, still its only one
  auto answer = result(w1, cookie_n(1), "real");
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), answer.payload());
  EXPECT_EQ(status().free_slots, 2u);
}

// -- senders --------------------------------------------------------------------------------------

TEST_F(SwitchboardTest, MessagesFromUnjoinedPeersOrInTheWrongRoleAreDropped) {
  start();
  auto stranger = spawn_peer(); // never joins
  auto c = client();
  auto w = worker(1);
  caf::send_as(stranger.handle, sb_, register_atom::value, std::uint32_t{4});
  caf::send_as(stranger.handle, sb_, run_atom::value, cookie_n(1), false, run_frame(cookie_n(1)));
  caf::send_as(c.handle, sb_, register_atom::value, std::uint32_t{4});
  caf::send_as(c.handle, sb_, result_atom::value, cookie_n(2), result_frame(cookie_n(2)));
  caf::send_as(w.handle, sb_, run_atom::value, cookie_n(3), false, run_frame(cookie_n(3)));
  caf::send_as(w.handle, sb_, cancel_atom::value, cookie_n(3), cancel_frame(cookie_n(3)));
  caf::send_as(c.handle, sb_, join_atom::value, peer_role::worker); // joined already
  caf::send_as(c.handle, sb_, grace_atom::value, cookie_n(1), std::uint64_t{1});
  sched_.run();
  EXPECT_TRUE(stranger.take().empty());
  EXPECT_TRUE(c.take().empty());
  EXPECT_TRUE(w.take().empty());
  auto s = status();
  EXPECT_EQ(s.messages_rejected, 8u);
  EXPECT_EQ(s.clients, 1u);
  EXPECT_EQ(s.workers, 1u);
  EXPECT_EQ(s.registered_slots, 1u);
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.results_dropped, 0u);
}

// Found by fuzz/switchboard_fuzzer: an anonymous sender (a plain anon_send, or another node's
// through the cluster port) has a null address, and looking that up in the joined peers hashed it
// through a null pointer.
TEST_F(SwitchboardTest, MessagesFromAnonymousSendersAreDropped) {
  start();
  auto c = client();
  auto w = worker(1);
  caf::anon_send(sb_, run_atom::value, cookie_n(1), false, run_frame(cookie_n(1)));
  caf::anon_send(sb_, cancel_atom::value, cookie_n(1), cancel_frame(cookie_n(1)));
  caf::anon_send(sb_, register_atom::value, std::uint32_t{4});
  caf::anon_send(sb_, result_atom::value, cookie_n(1), result_frame(cookie_n(1)));
  caf::anon_send(sb_, result_atom::value, cookie_n(1), result_code::ok, result_frame(cookie_n(1)));
  caf::anon_send(sb_, capacity_atom::value, slot_offer{4, 4, {}});
  caf::anon_send(sb_, join_atom::value, peer_role::worker);
  sched_.run();
  EXPECT_TRUE(c.take().empty());
  EXPECT_TRUE(w.take().empty());
  auto s = status();
  EXPECT_EQ(s.messages_rejected, 7u);
  EXPECT_EQ(s.clients, 1u);
  EXPECT_EQ(s.workers, 1u);
  EXPECT_EQ(s.registered_slots, 1u);
  EXPECT_EQ(s.free_slots, 1u);
  EXPECT_EQ(s.cluster_free_slots, 0u);
  EXPECT_EQ(s.routes, 0u);
}

// -- connections ending -------------------------------------------------------------------------

TEST_F(SwitchboardTest, WorkerLossEndsItsRoutesWithWorkerWentAway) {
  start();
  auto w = worker(3);
  auto other = worker(1);
  auto a = client();
  auto b = client();
  run(a, cookie_n(1));       // w
  run(b, cookie_n(2));       // w
  run(a, cookie_n(3), true); // w, detached: hears nothing
  run(b, cookie_n(4));       // other
  kill(w);
  auto got_a = a.take();
  ASSERT_EQ(got_a.size(), 1u);
  EXPECT_TRUE(is_result(got_a[0], cookie_n(1), result_code::worker_went_away,
                        "The worker connection went away"));
  auto got_b = b.take();
  ASSERT_EQ(got_b.size(), 1u);
  EXPECT_TRUE(is_result(got_b[0], cookie_n(2), result_code::worker_went_away,
                        "The worker connection went away"));
  auto s = status();
  EXPECT_EQ(s.workers, 1u);
  EXPECT_EQ(s.registered_slots, 1u);
  EXPECT_EQ(s.free_slots, 0u);
  EXPECT_EQ(s.routes, 1u);
  // The cookies are free again; the other worker's route is untouched.
  result(other, cookie_n(4));
  ASSERT_EQ(b.take().size(), 1u);
  run(a, cookie_n(1));
  EXPECT_EQ(other.take().size(), 2u);
}

TEST_F(SwitchboardTest, WorkerLossRemovesItsFreeSlots) {
  start();
  auto w1 = worker(2);
  auto w2 = worker(2);
  kill(w1);
  auto s = status();
  EXPECT_EQ(s.workers, 1u);
  EXPECT_EQ(s.registered_slots, 2u);
  EXPECT_EQ(s.free_slots, 2u);
  auto c = client();
  run(c, cookie_n(1));
  run(c, cookie_n(2));
  run(c, cookie_n(3));
  EXPECT_EQ(w2.take().size(), 2u);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(3), result_code::no_capacity, "No capacity available"));
}

TEST_F(SwitchboardTest, ClientLossKeepsRoutesUntilTheWorkerAnswersAndDropsTheAnswer) {
  start({}); // cancel_orphans off
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1));
  w.take();
  kill(c);
  EXPECT_TRUE(w.take().empty()); // no CANCEL on the broker's own account
  auto s = status();
  EXPECT_EQ(s.clients, 0u);
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.free_slots, 0u);
  result(w, cookie_n(1));
  s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.free_slots, 1u);
  EXPECT_EQ(s.results_forwarded, 0u);
  EXPECT_EQ(s.results_dropped, 0u);
}

TEST_F(SwitchboardTest, ClientLossWithCancelOrphansCancelsItsRunningTasks) {
  switchboard_config config;
  config.cancel_orphans = true;
  start(config);
  auto w = worker(3);
  auto c = client();
  auto survivor = client();
  run(c, cookie_n(1));
  run(c, cookie_n(2), true); // detached: meant to outlive the client, not cancelled
  run(survivor, cookie_n(3));
  w.take();
  kill(c);
  auto got = w.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), protocol::make_cancel(cookie_n(1)).payload());
  EXPECT_EQ(status().routes, 3u); // routes stay until the worker answers
  result(w, cookie_n(1));
  result(w, cookie_n(2));
  EXPECT_TRUE(survivor.take().empty());
  auto s = status();
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.free_slots, 2u);
  EXPECT_EQ(s.results_forwarded, 0u);
}

// -- cancel grace -------------------------------------------------------------------------------

TEST_F(SwitchboardTest, CancelAnsweredWithinTheGraceForwardsTheWorkersResult) {
  switchboard_config config;
  config.cancel_grace = 5s;
  start(config);
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1));
  cancel(c, cookie_n(1));
  advance(4s);
  EXPECT_TRUE(c.take().empty());
  auto answer = result(w, cookie_n(1), "stopped in time");
  advance(2s); // the grace timer fires now and must find nothing to do
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), answer.payload());
  auto s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.free_slots, 1u);
}

TEST_F(SwitchboardTest, CancelNotAnsweredWithinTheGraceGetsCancelled) {
  switchboard_config config;
  config.cancel_grace = 5s;
  start(config);
  auto w = worker(1);
  auto c = client();
  auto other = client();
  run(c, cookie_n(1));
  cancel(c, cookie_n(1));
  advance(4s);
  EXPECT_TRUE(c.take().empty());
  advance(1s);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::exception, "Cancelled"));
  // The slot stays busy and the cookie stays taken until the worker answers.
  auto s = status();
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.free_slots, 0u);
  run(other, cookie_n(1));
  got = other.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::cookie_collision, "Already in use"));
  // The client was answered: the route is no longer its to cancel.
  cancel(c, cookie_n(1));
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::cookie_not_found, "No such cookie"));
  w.take();
  // The late answer frees the slot and is not forwarded.
  result(w, cookie_n(1), "late");
  EXPECT_TRUE(c.take().empty());
  s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.free_slots, 1u);
  EXPECT_EQ(s.results_forwarded, 0u);
  EXPECT_EQ(s.results_dropped, 0u);
}

TEST_F(SwitchboardTest, TheGraceStartsOncePerRouteAtTheFirstCancel) {
  switchboard_config config;
  config.cancel_grace = 5s;
  start(config);
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1));
  w.take();
  cancel(c, cookie_n(1));
  advance(3s);
  cancel(c, cookie_n(1)); // dropped: neither forwarded again nor restarting the grace
  EXPECT_EQ(w.take().size(), 1u);
  advance(2s);
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::exception, "Cancelled"));
  advance(10s);
  EXPECT_TRUE(c.take().empty());
}

TEST_F(SwitchboardTest, AnOldGraceTimerDoesNotHitARouteThatReusesTheCookie) {
  switchboard_config config;
  config.cancel_grace = 5s;
  start(config);
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1));
  cancel(c, cookie_n(1));
  result(w, cookie_n(1), "first");
  ASSERT_EQ(c.take().size(), 1u);
  run(c, cookie_n(1)); // same cookie, new route
  advance(6s);         // the first route's timer fires
  EXPECT_TRUE(c.take().empty());
  auto answer = result(w, cookie_n(1), "second");
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload(), answer.payload());
}

TEST_F(SwitchboardTest, WorkerLossAfterTheGraceTellsTheClientNothingMore) {
  switchboard_config config;
  config.cancel_grace = 1s;
  start(config);
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1));
  cancel(c, cookie_n(1));
  advance(1s);
  ASSERT_EQ(c.take().size(), 1u);
  kill(w);
  EXPECT_TRUE(c.take().empty());
  auto s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.registered_slots, 0u);
  EXPECT_EQ(s.free_slots, 0u);
}

TEST_F(SwitchboardTest, ADetachedRouteGetsNoCancelledResult) {
  switchboard_config config;
  config.cancel_grace = 1s;
  start(config);
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1), true);
  auto sent = cancel(c, cookie_n(1));
  auto got = w.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].payload(), sent.payload());
  advance(2s);
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(status().free_slots, 0u);
  result(w, cookie_n(1));
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(status().free_slots, 1u);
}

// -- queueing -----------------------------------------------------------------------------------

TEST_F(SwitchboardTest, AQueuedRunGoesToTheNextFreedSlot) {
  switchboard_config config;
  config.queue_limit = 2;
  start(config);
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1));
  auto queued = run(c, cookie_n(2));
  EXPECT_EQ(w.take().size(), 1u);
  EXPECT_TRUE(c.take().empty());
  auto s = status();
  EXPECT_EQ(s.queued, 1u);
  EXPECT_EQ(s.routes, 2u);
  // The queued cookie is in use.
  run(c, cookie_n(2));
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(2), result_code::cookie_collision, "Already in use"));
  result(w, cookie_n(1));
  auto at_worker = w.take();
  ASSERT_EQ(at_worker.size(), 1u);
  EXPECT_EQ(at_worker[0].payload(), queued.payload());
  s = status();
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.routes, 1u);
  EXPECT_EQ(s.free_slots, 0u);
  EXPECT_EQ(s.runs_accepted, 2u);
}

TEST_F(SwitchboardTest, TheQueueIsBoundedThenNoCapacity) {
  switchboard_config config;
  config.queue_limit = 2;
  start(config);
  auto a = client();
  auto b = client();
  run(a, cookie_n(1));
  run(b, cookie_n(2));
  EXPECT_TRUE(a.take().empty());
  EXPECT_TRUE(b.take().empty());
  run(a, cookie_n(3));
  auto got = a.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(3), result_code::no_capacity, "No capacity available"));
  EXPECT_EQ(status().queued, 2u);
}

TEST_F(SwitchboardTest, TheQueueTakesTurnsAcrossClients) {
  switchboard_config config;
  config.queue_limit = 10;
  start(config);
  auto a = client();
  auto b = client();
  run(a, cookie_n(1));
  run(a, cookie_n(2));
  run(a, cookie_n(3));
  run(b, cookie_n(11));
  run(b, cookie_n(12));
  EXPECT_EQ(status().queued, 5u);
  auto w = worker(1);
  std::vector<cookie> order;
  for (int i = 0; i < 5; ++i) {
    auto got = w.take();
    ASSERT_EQ(got.size(), 1u);
    order.push_back(cookie_of(got[0]));
    result(w, order.back());
  }
  std::vector<cookie> expected{cookie_n(1), cookie_n(11), cookie_n(2), cookie_n(12), cookie_n(3)};
  EXPECT_EQ(order, expected);
  EXPECT_EQ(a.take().size(), 3u);
  EXPECT_EQ(b.take().size(), 2u);
  auto s = status();
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.free_slots, 1u);
}

TEST_F(SwitchboardTest, ARegisterDispatchesQueuedRuns) {
  switchboard_config config;
  config.queue_limit = 5;
  start(config);
  auto c = client();
  run(c, cookie_n(1));
  run(c, cookie_n(2));
  run(c, cookie_n(3));
  auto w = worker(2);
  auto got = w.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(cookie_of(got[0]), cookie_n(1));
  EXPECT_EQ(cookie_of(got[1]), cookie_n(2));
  auto s = status();
  EXPECT_EQ(s.queued, 1u);
  EXPECT_EQ(s.free_slots, 0u);
  EXPECT_EQ(s.routes, 3u);
}

TEST_F(SwitchboardTest, CancelOfAQueuedRunAnswersCancelled) {
  switchboard_config config;
  config.queue_limit = 5;
  start(config);
  auto c = client();
  auto other = client();
  run(c, cookie_n(1));
  cancel(other, cookie_n(1)); // not its route
  auto got = other.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::cookie_not_found, "No such cookie"));
  cancel(c, cookie_n(1));
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::exception, "Cancelled"));
  auto s = status();
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.routes, 0u);
  auto w = worker(1);
  EXPECT_TRUE(w.take().empty());
  EXPECT_EQ(status().free_slots, 1u);
}

TEST_F(SwitchboardTest, ClientLossDropsItsQueuedRuns) {
  switchboard_config config;
  config.queue_limit = 5;
  start(config);
  auto a = client();
  auto b = client();
  run(a, cookie_n(1));
  run(a, cookie_n(2));
  run(b, cookie_n(3));
  kill(a);
  auto s = status();
  EXPECT_EQ(s.queued, 1u);
  EXPECT_EQ(s.routes, 1u);
  auto w = worker(3);
  auto got = w.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(cookie_of(got[0]), cookie_n(3));
  s = status();
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.free_slots, 2u);
}

TEST_F(SwitchboardTest, WithoutQueueingARunNeverWaits) {
  start({}); // queue_limit 0
  auto c = client();
  run(c, cookie_n(1));
  EXPECT_EQ(c.take().size(), 1u);
  auto w = worker(1);
  EXPECT_TRUE(w.take().empty());
  auto s = status();
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.routes, 0u);
}

// -- slot order and accounting ------------------------------------------------------------------

TEST_F(SwitchboardTest, SlotsGoLeastRecentlyFreedFirst) {
  start();
  auto w1 = worker(1);
  auto w2 = worker(2);
  auto c = client();
  run(c, cookie_n(1));
  run(c, cookie_n(2));
  EXPECT_EQ(w1.take().size(), 1u); // registration order: distinct workers first
  EXPECT_EQ(w2.take().size(), 1u);
  // Free: [w2]. w1 frees its slot: it goes behind w2's.
  result(w1, cookie_n(1));
  run(c, cookie_n(3));
  EXPECT_TRUE(w1.take().empty());
  EXPECT_EQ(w2.take().size(), 1u);
  run(c, cookie_n(4));
  EXPECT_EQ(w1.take().size(), 1u);
  EXPECT_TRUE(w2.take().empty());
  // Free: none. w2 frees two, then w1 one: handed out in that order.
  result(w2, cookie_n(2));
  result(w2, cookie_n(3));
  result(w1, cookie_n(4));
  run(c, cookie_n(5));
  run(c, cookie_n(6));
  EXPECT_EQ(w2.take().size(), 2u);
  EXPECT_TRUE(w1.take().empty());
  run(c, cookie_n(7));
  EXPECT_EQ(w1.take().size(), 1u);
}

TEST_F(SwitchboardTest, FreeSlotsReturnToTheRegisteredTotalWhenAllWorkEnds) {
  switchboard_config config;
  config.cancel_grace = 1s;
  config.queue_limit = 3;
  start(config);
  auto w1 = worker(2);
  auto w2 = worker(3);
  auto gone = worker(2);
  auto a = client();
  auto b = client();
  for (std::uint8_t i = 1; i <= 7; ++i)
    run(i % 2 ? a : b, cookie_n(i)); // 7 slots in all: every one busy
  run(a, cookie_n(8));               // queued
  run(b, cookie_n(9));               // queued
  auto s = status();
  EXPECT_EQ(s.free_slots, 0u);
  EXPECT_EQ(s.queued, 2u);
  cancel(a, cookie_n(8)); // queued: removed
  cancel(a, cookie_n(1)); // running: grace runs out
  advance(2s);
  kill(gone);              // its tasks end
  result(w1, cookie_n(5)); // a task of nobody: dropped
  // Answer everything still running, including the cancelled one and the dispatched queued one.
  for (std::uint8_t i = 1; i <= 9; ++i) {
    for (auto* w : {&w1, &w2}) {
      for (auto& f : w->take()) {
        auto read = protocol::read_packet(f);
        if (read.fields.type == packet_type::run)
          result(*w, *read.fields.cookie);
      }
    }
  }
  s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.workers, 2u);
  EXPECT_EQ(s.registered_slots, 5u);
  EXPECT_EQ(s.free_slots, 5u);
}

// -- shutdown -----------------------------------------------------------------------------------

TEST_F(SwitchboardTest, ShutdownTellsWorkersAndAnswersEveryOpenRoute) {
  switchboard_config config;
  config.cancel_grace = 1s;
  config.queue_limit = 5;
  start(config);
  auto w1 = worker(2);
  auto w2 = worker(1);
  auto a = client();
  auto b = client();
  auto orphaner = client();
  run(a, cookie_n(1));        // running
  run(a, cookie_n(2), true);  // running, detached: hears nothing
  run(b, cookie_n(3));        // running, will be answered by the grace
  run(a, cookie_n(4));        // queued
  run(orphaner, cookie_n(5)); // queued, then its client goes
  cancel(b, cookie_n(3));
  advance(1s);
  ASSERT_EQ(b.take().size(), 1u);
  kill(orphaner);
  w1.take();
  w2.take();
  auto frames_at_reply = shutdown();
  ASSERT_TRUE(frames_at_reply.has_value()) << "no done reply";
  for (auto* w : {&w1, &w2}) {
    auto got = w->take();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].payload(), protocol::make_shutdown().payload());
  }
  auto got = a.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(
      is_result(got[0], cookie_n(1), result_code::broker_went_away, "The broker is shutting down"));
  EXPECT_TRUE(
      is_result(got[1], cookie_n(4), result_code::broker_went_away, "The broker is shutting down"));
  EXPECT_TRUE(b.take().empty());
  EXPECT_EQ(*frames_at_reply, 4u); // every frame was sent before the reply
  auto s = status();
  EXPECT_EQ(s.routes, 0u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_EQ(s.free_slots, 0u);
  EXPECT_EQ(s.registered_slots, 0u);
  // Nothing new starts after the shutdown.
  register_slots(w1, 4);
  run(a, cookie_n(6));
  got = a.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(
      is_result(got[0], cookie_n(6), result_code::broker_went_away, "The broker is shutting down"));
  EXPECT_TRUE(w1.take().empty());
  EXPECT_EQ(status().free_slots, 0u);
}

} // namespace
} // namespace rcbroker::actors
