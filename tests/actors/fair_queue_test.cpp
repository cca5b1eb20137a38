// The Switchboard's queue of RUNs waiting for a slot, on its own: clients take turns.

#include "rcbroker/actors/fair_queue.hpp"

#include <gtest/gtest.h>

using rcbroker::actors::fair_queue;
using rcbroker::actors::peer_id;
using rcbroker::protocol::cookie;

namespace {

cookie cookie_n(std::uint8_t n) {
  cookie c;
  c.bytes[15] = n;
  return c;
}

// Pops everything: "client:cookie" for each RUN, in order.
std::vector<std::pair<peer_id, int>> drain(fair_queue& q) {
  std::vector<std::pair<peer_id, int>> out;
  while (auto e = q.pop())
    out.emplace_back(e->client, e->cookie.bytes[15]);
  return out;
}

} // namespace

TEST(FairQueue, ClientsTakeTurnsAndEachKeepsItsOrder) {
  fair_queue q;
  q.push(1, cookie_n(1));
  q.push(1, cookie_n(2));
  q.push(1, cookie_n(3));
  q.push(2, cookie_n(4));
  q.push(3, cookie_n(5));
  q.push(2, cookie_n(6));
  EXPECT_EQ(q.size(), 6u);
  using v = std::vector<std::pair<peer_id, int>>;
  EXPECT_EQ(drain(q), (v{{1, 1}, {2, 4}, {3, 5}, {1, 2}, {2, 6}, {1, 3}}));
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.pop());
}

TEST(FairQueue, AClientThatComesBackQueuesLast) {
  fair_queue q;
  q.push(1, cookie_n(1));
  q.push(2, cookie_n(2));
  EXPECT_EQ(q.pop()->client, 1u);
  q.push(1, cookie_n(3)); // 1 had nothing queued: its turn is after 2's
  EXPECT_EQ(q.pop()->client, 2u);
  EXPECT_EQ(q.pop()->client, 1u);
}

TEST(FairQueue, RemovingTheLastRunOfAClientEndsItsTurn) {
  fair_queue q;
  q.push(1, cookie_n(1));
  q.push(2, cookie_n(2));
  EXPECT_FALSE(q.remove(1, cookie_n(2))) << "2's cookie is not 1's";
  EXPECT_TRUE(q.remove(1, cookie_n(1)));
  EXPECT_FALSE(q.remove(1, cookie_n(1)));
  EXPECT_EQ(q.size(), 1u);
  using v = std::vector<std::pair<peer_id, int>>;
  EXPECT_EQ(drain(q), (v{{2, 2}}));
}

TEST(FairQueue, RemovingAClientReturnsItsRunsOldestFirst) {
  fair_queue q;
  q.push(1, cookie_n(1));
  q.push(2, cookie_n(2));
  q.push(1, cookie_n(3));
  auto gone = q.remove_client(1);
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_EQ(gone[0], cookie_n(1));
  EXPECT_EQ(gone[1], cookie_n(3));
  EXPECT_TRUE(q.remove_client(1).empty());
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.pop()->client, 2u);
}

TEST(FairQueue, ClearForgetsEverything) {
  fair_queue q;
  q.push(1, cookie_n(1));
  q.push(2, cookie_n(2));
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.pop());
  q.push(3, cookie_n(3));
  EXPECT_EQ(q.pop()->client, 3u);
}

TEST(FairQueue, HigherPrioritiesFirstThenTurnsWithinOne) {
  fair_queue q;
  q.push(1, cookie_n(1));
  q.push(2, cookie_n(2), 5);
  q.push(1, cookie_n(3), 5);
  q.push(2, cookie_n(4), 5);
  q.push(3, cookie_n(5), -2);
  using v = std::vector<std::pair<peer_id, int>>;
  EXPECT_EQ(drain(q), (v{{2, 2}, {1, 3}, {2, 4}, {1, 1}, {3, 5}}));
}

TEST(FairQueue, RemovalsFindTheirPriority) {
  fair_queue q;
  q.push(1, cookie_n(1), 3);
  q.push(1, cookie_n(2));
  q.push(2, cookie_n(3), 3);
  EXPECT_FALSE(q.remove(1, cookie_n(1))) << "not at priority 0";
  EXPECT_TRUE(q.remove(1, cookie_n(1), 3));
  EXPECT_EQ(q.remove_client(1), std::vector<cookie>{cookie_n(2)});
  using v = std::vector<std::pair<peer_id, int>>;
  EXPECT_EQ(drain(q), (v{{2, 3}}));
}

TEST(FairQueue, PopFirstSkipsWhatDoesNotFitAndKeepsItsPlace) {
  fair_queue q;
  q.push(1, cookie_n(1), 1);
  q.push(1, cookie_n(2), 1);
  q.push(2, cookie_n(3));
  auto e = q.pop_first([](const cookie& c) { return c.bytes[15] != 1; });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->cookie, cookie_n(2));
  EXPECT_FALSE(q.pop_first([](const cookie&) { return false; }));
  using v = std::vector<std::pair<peer_id, int>>;
  EXPECT_EQ(drain(q), (v{{1, 1}, {2, 3}}));
}

TEST(FairQueue, PushFrontGoesAheadOfItsPriority) {
  fair_queue q;
  q.push(1, cookie_n(1));
  q.push(2, cookie_n(2));
  q.push(2, cookie_n(3), 1);
  q.push_front(2, cookie_n(4));
  using v = std::vector<std::pair<peer_id, int>>;
  EXPECT_EQ(drain(q), (v{{2, 3}, {2, 4}, {1, 1}, {2, 2}}));
}
