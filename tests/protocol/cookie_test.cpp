#include "rcbroker/protocol/cookie.hpp"

#include <gtest/gtest.h>
#include <unordered_set>

namespace rcbroker::protocol {
namespace {

constexpr std::string_view lower = "0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7";

TEST(Cookie, ParsesCanonicalLowerCase) {
  auto c = cookie::parse(lower);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->bytes[0], 0x01);
  EXPECT_EQ(c->bytes[1], 0x23);
  EXPECT_EQ(c->bytes[2], 0xab);
  EXPECT_EQ(c->bytes[3], 0xcd);
  EXPECT_EQ(c->bytes[4], 0x45);
  EXPECT_EQ(c->bytes[7], 0xef);
  EXPECT_EQ(c->bytes[15], 0xb7);
  EXPECT_EQ(c->to_string(), lower);
}

TEST(Cookie, AcceptsUpperCaseAndEmitsLowerCase) {
  auto upper = cookie::parse("0123ABCD-4567-89EF-A0B1-C2D3E4F5A6B7");
  auto mixed = cookie::parse("0123AbCd-4567-89eF-a0B1-C2d3E4f5A6b7");
  ASSERT_TRUE(upper.has_value());
  ASSERT_TRUE(mixed.has_value());
  EXPECT_EQ(*upper, *cookie::parse(lower));
  EXPECT_EQ(*mixed, *upper);
  EXPECT_EQ(upper->to_string(), lower);
}

TEST(Cookie, RoundTripsAllByteValues) {
  cookie c;
  for (std::size_t i = 0; i < c.bytes.size(); ++i)
    c.bytes[i] = static_cast<std::uint8_t>(i * 17 + 0x0F);
  auto text = c.to_string();
  EXPECT_EQ(text.size(), 36u);
  auto back = cookie::parse(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, c);
  EXPECT_EQ(cookie{}.to_string(), "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(cookie::parse("ffffffff-ffff-ffff-ffff-ffffffffffff")->to_string(),
            "ffffffff-ffff-ffff-ffff-ffffffffffff");
}

TEST(Cookie, RejectsWrongLength) {
  EXPECT_FALSE(cookie::parse(""));
  EXPECT_FALSE(cookie::parse("0123abcd-4567-89ef-a0b1-c2d3e4f5a6b"));   // 35
  EXPECT_FALSE(cookie::parse("0123abcd-4567-89ef-a0b1-c2d3e4f5a6b70")); // 37
  EXPECT_FALSE(cookie::parse("0123abcd456789efa0b1c2d3e4f5a6b7"));      // no hyphens
  EXPECT_FALSE(cookie::parse("{0123abcd-4567-89ef-a0b1-c2d3e4f5a6b7}"));
}

TEST(Cookie, RejectsMisplacedHyphens) {
  EXPECT_FALSE(cookie::parse("0123abc-d4567-89ef-a0b1-c2d3e4f5a6b7"));
  EXPECT_FALSE(cookie::parse("0123abcd-456-789ef-a0b1-c2d3e4f5a6b7"));
  EXPECT_FALSE(cookie::parse("0123abcd-4567-89efa-0b1-c2d3e4f5a6b7"));
  EXPECT_FALSE(cookie::parse("0123abcd-4567-89ef-a0b1c-2d3e4f5a6b7"));
  EXPECT_FALSE(cookie::parse("0123abcd_4567_89ef_a0b1_c2d3e4f5a6b7"));
}

TEST(Cookie, RejectsNonHexDigits) {
  std::string text{lower};
  // Every digit position, one at a time.
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-')
      continue;
    for (char bad : {'g', 'G', 'z', ' ', '-', '\0', '/', ':', '@', '`'}) {
      std::string t = text;
      t[i] = bad;
      EXPECT_FALSE(cookie::parse(t)) << "position " << i << " char " << int(bad);
    }
  }
}

TEST(Cookie, ComparesAndHashesByValue) {
  auto a = *cookie::parse(lower);
  auto b = *cookie::parse("0123abcd-4567-89ef-a0b1-c2d3e4f5a6b8");
  EXPECT_NE(a, b);
  EXPECT_TRUE(a < b);
  EXPECT_FALSE(b < a);
  std::unordered_set<cookie> set{a, b, *cookie::parse("0123ABCD-4567-89EF-A0B1-C2D3E4F5A6B7")};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(std::hash<cookie>{}(a), cookie_hash{}(*cookie::parse(lower)));
}

} // namespace
} // namespace rcbroker::protocol
