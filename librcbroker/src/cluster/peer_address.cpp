#include "rcbroker/cluster/peer_address.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <string_view>

namespace rcbroker::cluster {

std::string peer_address::to_string() const {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

bool parse_peer_address(const std::string& text, peer_address& out, std::string& error) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    error = "'" + text + "' must be HOST:PORT, e.g. 127.0.0.1:51520";
    return false;
  }
  std::string host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto digits = std::string_view{text}.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535) {
    error = "'" + text + "' has no valid port (1..65535)";
    return false;
  }
  out.host = host;
  out.port = static_cast<std::uint16_t>(port);
  return true;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost")
    return true;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

} // namespace rcbroker::cluster
