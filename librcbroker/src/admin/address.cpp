#include "rcbroker/admin/address.hpp"

#include "rcbroker/transport/endpoint.hpp"

#include <algorithm>

namespace rcbroker::admin {

namespace {

constexpr const char* expected = "expected HOST:PORT, [V6ADDR]:PORT or PORT, e.g. 127.0.0.1:51580";

} // namespace

std::string address::url() const {
  bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

address_result parse_address(std::string_view text) {
  address_result result;
  if (text.empty()) {
    result.error = "empty admin address: " + std::string{expected};
    return result;
  }
  std::string full{text};
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    full = "127.0.0.1:" + full;
  else if (text.front() == ':')
    full = "127.0.0.1" + full;
  // A port is required: the endpoint parser would otherwise take its default.
  auto colon = full.rfind(':');
  auto bracket = full.rfind(']');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket) ||
      colon + 1 == full.size()) {
    result.error = "admin address '" + std::string{text} + "' has no port: " + expected;
    return result;
  }
  auto parsed = transport::parse_endpoint("tcp://" + full, 0);
  if (!parsed.value) {
    result.error = "admin address '" + std::string{text} + "': " + parsed.error;
    return result;
  }
  result.value = address{parsed.value->host, parsed.value->port};
  return result;
}

} // namespace rcbroker::admin
