#include "broker/client/random_cookie.hpp"

#include <cstring>
#include <random>

namespace broker::client {

protocol::cookie random_cookie() {
  thread_local std::mt19937_64 generator{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64{seed};
  }()};
  protocol::cookie c;
  std::uint64_t halves[2] = {generator(), generator()};
  std::memcpy(c.bytes.data(), halves, sizeof halves);
  c.bytes[6] = static_cast<std::uint8_t>((c.bytes[6] & 0x0F) | 0x40); // version 4
  c.bytes[8] = static_cast<std::uint8_t>((c.bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
  return c;
}

} // namespace broker::client
