#include "rcbroker/transport/endpoint.hpp"

#include <cstddef>
#include <sys/un.h>

namespace rcbroker::transport {

namespace {

constexpr std::string_view valid_forms = "use tcp://HOST:PORT, tls://HOST:PORT, socket:///PATH, "
                                         "http://HOST:PORT or grpc://HOST:PORT";

// sun_path must also hold the terminating NUL.
constexpr std::size_t max_socket_path = sizeof(sockaddr_un::sun_path) - 1;

std::string quoted(std::string_view url) {
  std::string out;
  out.reserve(url.size() + 2);
  out += '\'';
  out += url;
  out += '\'';
  return out;
}

endpoint_result fail(std::string_view what, std::string_view url, std::string_view hint) {
  endpoint_result r;
  r.error.reserve(what.size() + url.size() + hint.size() + 8);
  r.error += what;
  r.error += " in ";
  r.error += quoted(url);
  r.error += ": ";
  r.error += hint;
  return r;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i]))
      return false;
  }
  return true;
}

// Characters that cannot be part of a host name or address (they belong to other URL parts, or
// are a typo).
bool bad_host_char(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7F || c == '/' || c == '?' || c == '#' || c == '@' || c == '[' ||
         c == ']' || c == '\\';
}

// Every scheme but socket:// names a host and a port the same way.
endpoint_result parse_tcp(std::string_view url, std::string_view rest, std::uint16_t default_port,
                          endpoint::kind type) {
  endpoint scheme_only;
  scheme_only.type = type;
  const std::string scheme = scheme_only.scheme();
  const std::string tcp_hint = "use " + scheme + "://HOST:PORT or " + scheme + "://[V6ADDR]:PORT";
  // One trailing slash is the original's own form (`tcp://[::1]/`, `tcp://0.0.0.0/`).
  if (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  std::string_view host;
  std::string_view port_part; // what follows the host: empty or ":PORT"
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos)
      return fail("missing ']' after IPv6 address", url, tcp_hint);
    host = rest.substr(1, close - 1);
    if (host.empty())
      return fail("empty IPv6 address", url, tcp_hint);
    if (host.find(':') == std::string_view::npos)
      return fail("brackets hold an IPv6 address only", url, tcp_hint);
    port_part = rest.substr(close + 1);
    if (!port_part.empty() && port_part.front() != ':')
      return fail("unexpected text after ']'", url, tcp_hint);
  } else {
    auto colon = rest.find(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_part = rest.substr(colon);
      if (port_part.find(':', 1) != std::string_view::npos)
        return fail("an IPv6 address needs brackets", url, "use " + scheme + "://[V6ADDR]:PORT");
    }
    if (host.empty())
      return fail("missing host", url, tcp_hint);
  }
  for (char c : host) {
    if (bad_host_char(c))
      return fail("invalid character in host", url, tcp_hint);
  }

  std::uint16_t port = default_port;
  if (!port_part.empty()) {
    auto digits = port_part.substr(1);
    if (digits.empty())
      return fail("missing port after ':'", url, tcp_hint);
    std::uint32_t value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9')
        return fail("port must be a decimal number", url, tcp_hint);
      value = value * 10 + static_cast<std::uint32_t>(c - '0');
      if (value > 65535)
        return fail("port out of range 0..65535", url, tcp_hint);
    }
    port = static_cast<std::uint16_t>(value);
  }

  endpoint ep;
  ep.type = type;
  ep.host = std::string{host};
  ep.port = port;
  return {std::move(ep), {}};
}

endpoint_result parse_socket(std::string_view url, std::string_view path) {
  constexpr std::string_view socket_hint = "use socket:///ABS/PATH (three slashes)";
  if (path.empty())
    return fail("missing socket path", url, socket_hint);
  if (path.front() != '/')
    return fail("socket path must be absolute", url, socket_hint);
  if (path.back() == '/')
    return fail("socket path must name a file, not a directory", url, socket_hint);
  if (path.find('\0') != std::string_view::npos)
    return fail("socket path holds a NUL byte", url, socket_hint);
  if (path.size() > max_socket_path)
    return fail("socket path longer than " + std::to_string(max_socket_path) + " bytes", url,
                "use a shorter socket:///ABS/PATH");
  endpoint ep;
  ep.type = endpoint::kind::unix_socket;
  ep.path = std::string{path};
  return {std::move(ep), {}};
}

} // namespace

const char* endpoint::scheme() const noexcept {
  switch (type) {
  case kind::tcp:
    return "tcp";
  case kind::unix_socket:
    return "socket";
  case kind::tls:
    return "tls";
  case kind::http:
    return "http";
  case kind::https:
    return "https";
  case kind::grpc:
    return "grpc";
  default:
    return "grpcs";
  }
}

std::string endpoint::to_string() const {
  if (type == kind::unix_socket)
    return "socket://" + path;
  std::string out = scheme();
  out += "://";
  if (host.find(':') != std::string::npos) {
    out += '[';
    out += host;
    out += ']';
  } else {
    out += host;
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

endpoint_result parse_endpoint(std::string_view url, default_ports defaults) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return fail("missing scheme", url, valid_forms);
  auto scheme = url.substr(0, sep);
  auto rest = url.substr(sep + 3);
  if (iequals(scheme, "socket"))
    return parse_socket(url, rest);
  struct scheme_entry {
    std::string_view name;
    endpoint::kind type;
    std::uint16_t port;
  };
  const scheme_entry schemes[] = {
      {"tcp", endpoint::kind::tcp, defaults.framed},
      {"tls", endpoint::kind::tls, defaults.framed},
      {"http", endpoint::kind::http, defaults.http},
      {"https", endpoint::kind::https, defaults.http},
      {"grpc", endpoint::kind::grpc, defaults.grpc},
      {"grpcs", endpoint::kind::grpcs, defaults.grpc},
  };
  // URL schemes are case-insensitive (RFC 3986); Python's urlparse, used by the original, agrees.
  for (auto& entry : schemes) {
    if (iequals(scheme, entry.name))
      return parse_tcp(url, rest, entry.port, entry.type);
  }
  return fail("unsupported scheme", url, valid_forms);
}

endpoint_result parse_endpoint(std::string_view url, std::uint16_t default_port) {
  return parse_endpoint(url, default_ports{default_port, default_port, default_port});
}

} // namespace rcbroker::transport
