// random_cookie: version 4 UUIDs from the system's entropy, never repeated.

#include "rcbroker/client/random_cookie.hpp"

#include <gtest/gtest.h>
#include <set>
#include <string>

namespace rcbroker::client {
namespace {

TEST(RandomCookie, IsAVersion4UuidOfTheRfc4122Variant) {
  for (int i = 0; i < 100; ++i) {
    auto c = random_cookie();
    EXPECT_EQ(c.bytes[6] & 0xF0, 0x40) << c.to_string();
    EXPECT_EQ(c.bytes[8] & 0xC0, 0x80) << c.to_string();
    auto text = c.to_string();
    EXPECT_EQ(text[14], '4') << text;
    EXPECT_EQ(protocol::cookie::parse(text), c);
  }
}

TEST(RandomCookie, TenThousandAreAllDifferent) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i)
    seen.insert(random_cookie().to_string());
  EXPECT_EQ(seen.size(), 10000u);
}

} // namespace
} // namespace rcbroker::client
