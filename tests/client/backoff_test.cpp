// The reconnection delays of a worker.

#include "rcbroker/client/backoff.hpp"

#include <gtest/gtest.h>

using rcbroker::client::backoff;
using std::chrono::milliseconds;

TEST(Backoff, DoublesUpToTheBoundAndStartsOverOnReset) {
  backoff delays{milliseconds{100}, milliseconds{500}};
  EXPECT_EQ(delays.next(), milliseconds{100});
  EXPECT_EQ(delays.next(), milliseconds{200});
  EXPECT_EQ(delays.next(), milliseconds{400});
  EXPECT_EQ(delays.next(), milliseconds{500});
  EXPECT_EQ(delays.next(), milliseconds{500});
  delays.reset();
  EXPECT_EQ(delays.next(), milliseconds{100});
}

TEST(Backoff, OddSettingsAreMadeSane) {
  backoff zero{milliseconds{0}, milliseconds{0}};
  EXPECT_EQ(zero.next(), milliseconds{1});
  EXPECT_EQ(zero.next(), milliseconds{1});
  backoff inverted{milliseconds{300}, milliseconds{100}};
  EXPECT_EQ(inverted.next(), milliseconds{300});
  EXPECT_EQ(inverted.next(), milliseconds{300});
}
