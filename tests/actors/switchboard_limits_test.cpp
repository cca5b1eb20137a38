// The Switchboard's max-runs-per-client: a client with N open routes gets NO_CAPACITY for
// another RUN, whatever the free slots; every route counts until it ends.

#include "switchboard_fixture.hpp"

#include <chrono>

namespace rcbroker::actors {
namespace {

using namespace std::chrono_literals;
using namespace sbtest;

constexpr const char* over_limit_2 =
    "Too many runs in flight on this connection (max-runs-per-client 2)";

switchboard_config limit(std::size_t runs, std::size_t queue = 0) {
  switchboard_config cfg;
  cfg.max_runs_per_client = runs;
  cfg.queue_limit = queue;
  cfg.cancel_grace = 1s;
  return cfg;
}

TEST_F(SwitchboardTest, RunOverThePerClientLimitGetsNoCapacityWithSlotsFree) {
  start(limit(2));
  auto w = worker(10);
  auto c = client();
  run(c, cookie_n(1));
  run(c, cookie_n(2));
  run(c, cookie_n(3));
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(3), result_code::no_capacity, over_limit_2));
  EXPECT_EQ(w.take().size(), 2u);
  auto s = status();
  EXPECT_EQ(s.routes, 2u);
  EXPECT_EQ(s.free_slots, 8u);
}

TEST_F(SwitchboardTest, RunsEndingMakeRoomUnderThePerClientLimit) {
  start(limit(2));
  auto w = worker(10);
  auto c = client();
  run(c, cookie_n(1));
  run(c, cookie_n(2));
  result(w, cookie_n(1));
  c.take();
  run(c, cookie_n(3));
  EXPECT_TRUE(c.take().empty()) << "the third RUN fits once the first ended";
  EXPECT_EQ(w.take().size(), 3u);
  EXPECT_EQ(status().routes, 2u);
}

TEST_F(SwitchboardTest, ThePerClientLimitIsPerClient) {
  start(limit(2));
  auto w = worker(10);
  auto a = client();
  auto b = client();
  run(a, cookie_n(1));
  run(a, cookie_n(2));
  run(b, cookie_n(3));
  run(b, cookie_n(4));
  EXPECT_TRUE(a.take().empty());
  EXPECT_TRUE(b.take().empty());
  EXPECT_EQ(w.take().size(), 4u);
}

TEST_F(SwitchboardTest, DetachedQueuedAndCancelledRoutesCountUntilTheyEnd) {
  start(limit(2, 5));
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(1), true); // detached, running
  run(c, cookie_n(2));       // queued: the one slot is busy
  run(c, cookie_n(3));
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(3), result_code::no_capacity, over_limit_2));
  EXPECT_EQ(status().queued, 1u);

  // The queued RUN cancelled: its route ends, and there is room again.
  cancel(c, cookie_n(2));
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(2), result_code::exception, "Cancelled"));
  run(c, cookie_n(4)); // queued
  EXPECT_TRUE(c.take().empty());

  // A running route answered by the cancel grace still holds its slot, so it still counts.
  result(w, cookie_n(1));
  ASSERT_EQ(w.take().size(), 2u); // RUN 1, then RUN 4 from the queue
  cancel(c, cookie_n(4));
  advance(1s);
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(4), result_code::exception, "Cancelled"));
  run(c, cookie_n(5)); // queued behind the busy slot
  run(c, cookie_n(6));
  got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(6), result_code::no_capacity, over_limit_2));
}

TEST_F(SwitchboardTest, CookieCollisionComesBeforeThePerClientLimit) {
  start(limit(1));
  auto w = worker(2);
  auto c = client();
  run(c, cookie_n(1));
  run(c, cookie_n(1));
  auto got = c.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(is_result(got[0], cookie_n(1), result_code::cookie_collision, "Already in use"));
}

TEST_F(SwitchboardTest, ZeroMeansNoPerClientLimit) {
  start(limit(0));
  auto w = worker(100);
  auto c = client();
  for (std::uint8_t i = 1; i <= 50; ++i)
    run(c, cookie_n(i));
  EXPECT_TRUE(c.take().empty());
  EXPECT_EQ(w.take().size(), 50u);
}

TEST_F(SwitchboardTest, ClusterLinksAreNotHeldToThePerClientLimit) {
  start(limit(1));
  auto w = worker(3);
  // Another node's link: it also takes this node's free slot counts.
  auto inbox = std::make_shared<std::vector<frame>>();
  auto handle = sys_.spawn(
      [](cluster_link_actor::pointer,
         std::shared_ptr<std::vector<frame>> inbox) -> cluster_link_actor::behavior_type {
        return {[inbox](deliver_atom, const frame& f) { inbox->push_back(f); },
                [inbox](deliver_atom, const std::vector<frame>& fs) {
                  inbox->insert(inbox->end(), fs.begin(), fs.end());
                },
                [](capacity_atom, const slot_offer&) {}};
      },
      inbox);
  fake_peer link{caf::actor_cast<peer_actor>(handle), inbox};
  peers_.push_back(link);
  caf::send_as(link.handle, sb_, join_atom::value, peer_role::link_client);
  sched_.run();
  run(link, cookie_n(1));
  run(link, cookie_n(2));
  run(link, cookie_n(3));
  EXPECT_TRUE(link.take().empty());
  EXPECT_EQ(w.take().size(), 3u);
}

} // namespace
} // namespace rcbroker::actors
