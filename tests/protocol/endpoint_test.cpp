#include "rcbroker/transport/endpoint.hpp"

#include <gtest/gtest.h>
#include <string>

namespace rcbroker::transport {
namespace {

endpoint parse_ok(std::string_view url, std::uint16_t default_port = default_client_port) {
  auto r = parse_endpoint(url, default_port);
  EXPECT_TRUE(r.value.has_value()) << url << ": " << r.error;
  EXPECT_TRUE(r.error.empty()) << url << ": " << r.error;
  return r.value.value_or(endpoint{});
}

std::string parse_error(std::string_view url) {
  auto r = parse_endpoint(url, default_client_port);
  EXPECT_FALSE(r.value.has_value()) << url << " parsed as " << r.value->to_string();
  EXPECT_FALSE(r.error.empty()) << url;
  // Every error quotes the URL so an operator sees which setting is wrong.
  EXPECT_NE(r.error.find("'" + std::string{url} + "'"), std::string::npos) << r.error;
  return r.error;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(Endpoint, TcpHostAndPort) {
  auto ep = parse_ok("tcp://127.0.0.1:6000");
  EXPECT_EQ(ep.type, endpoint::kind::tcp);
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 6000);
  EXPECT_TRUE(ep.path.empty());
  EXPECT_EQ(ep.to_string(), "tcp://127.0.0.1:6000");
}

TEST(Endpoint, TcpHostNameWithoutPortTakesTheDefault) {
  auto client = parse_ok("tcp://localhost", default_client_port);
  EXPECT_EQ(client.host, "localhost");
  EXPECT_EQ(client.port, 51500);
  auto worker = parse_ok("tcp://broker.example.com", default_worker_port);
  EXPECT_EQ(worker.host, "broker.example.com");
  EXPECT_EQ(worker.port, 51510);
  EXPECT_EQ(worker.to_string(), "tcp://broker.example.com:51510");
}

TEST(Endpoint, TcpIpv6InBracketsIsStripped) {
  auto ep = parse_ok("tcp://[::1]:51500");
  EXPECT_EQ(ep.type, endpoint::kind::tcp);
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 51500);
  EXPECT_EQ(ep.to_string(), "tcp://[::1]:51500");

  auto full = parse_ok("tcp://[2001:db8::8a2e:370:7334]:9");
  EXPECT_EQ(full.host, "2001:db8::8a2e:370:7334");
  EXPECT_EQ(full.port, 9);
}

TEST(Endpoint, TcpIpv6WithoutPortTakesTheDefault) {
  // The original's default endpoint.
  auto ep = parse_ok("tcp://[::1]", default_worker_port);
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, default_worker_port);
  EXPECT_EQ(ep.to_string(), "tcp://[::1]:51510");
  EXPECT_EQ(parse_ok("tcp://[::]").host, "::");
}

TEST(Endpoint, PortBounds) {
  EXPECT_EQ(parse_ok("tcp://h:1").port, 1);
  EXPECT_EQ(parse_ok("tcp://h:65535").port, 65535);
  EXPECT_EQ(parse_ok("tcp://[::1]:65535").port, 65535);
  EXPECT_EQ(parse_ok("tcp://h:0").port, 0) << "port 0 asks the kernel for a free port";
  EXPECT_TRUE(contains(parse_error("tcp://h:65536"), "0..65535"));
  EXPECT_TRUE(contains(parse_error("tcp://h:4294967297"), "0..65535")); // would wrap in 32 bits
  EXPECT_TRUE(contains(parse_error("tcp://h:99999999999999999999999"), "0..65535"));
  EXPECT_EQ(parse_ok("tcp://[::1]:0").port, 0);
}

TEST(Endpoint, PortMustBeDigitsOnly) {
  for (auto url : {"tcp://h:-1", "tcp://h:+80", "tcp://h:80a", "tcp://h:0x50", "tcp://h: 80",
                   "tcp://h:80 ", "tcp://h:http", "tcp://[::1]:8o"}) {
    auto error = parse_error(url);
    EXPECT_TRUE(contains(error, "port")) << error;
  }
}

TEST(Endpoint, MissingPortAfterColon) {
  EXPECT_TRUE(contains(parse_error("tcp://h:"), "missing port"));
  EXPECT_TRUE(contains(parse_error("tcp://[::1]:"), "missing port"));
}

TEST(Endpoint, HostMustNotBeEmpty) {
  EXPECT_TRUE(contains(parse_error("tcp://"), "missing host"));
  EXPECT_TRUE(contains(parse_error("tcp://:51500"), "missing host"));
  EXPECT_TRUE(contains(parse_error("tcp://[]:51500"), "empty IPv6"));
  EXPECT_TRUE(contains(parse_error("tcp://[]"), "empty IPv6"));
}

TEST(Endpoint, UnbracketedIpv6IsRejectedWithAHint) {
  auto error = parse_error("tcp://::1");
  EXPECT_TRUE(contains(error, "brackets")) << error;
  EXPECT_TRUE(contains(error, "tcp://[V6ADDR]:PORT")) << error;
  EXPECT_TRUE(contains(parse_error("tcp://fe80::1:80"), "brackets"));
}

TEST(Endpoint, BrokenBrackets) {
  EXPECT_TRUE(contains(parse_error("tcp://[::1"), "missing ']'"));
  EXPECT_TRUE(contains(parse_error("tcp://[::1]51500"), "after ']'"));
  EXPECT_TRUE(contains(parse_error("tcp://[::1]x:1"), "after ']'"));
  EXPECT_TRUE(contains(parse_error("tcp://[localhost]:1"), "IPv6"));
  parse_error("tcp://[::1]]:1");
  parse_error("tcp://[[::1]]:1");
}

TEST(Endpoint, HostWithUrlPartsIsRejected) {
  for (auto url : {"tcp://h//", "tcp://h:80//", "tcp://h/path", "tcp://user@h:80", "tcp://h?x=1",
                   "tcp://h#f", "tcp://h b:80", "tcp://h]:80", "tcp://a\\b", "tcp:///"}) {
    auto error = parse_error(url);
    EXPECT_FALSE(error.empty());
  }
}

TEST(Endpoint, OneTrailingSlashIsTheOriginalsForm) {
  auto v6 = parse_ok("tcp://[::1]/", default_worker_port);
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, default_worker_port);
  auto any = parse_ok("tcp://0.0.0.0/");
  EXPECT_EQ(any.host, "0.0.0.0");
  EXPECT_EQ(any.port, default_client_port);
  EXPECT_EQ(parse_ok("tls://h:7/").port, 7);
}

TEST(Endpoint, UnixSocketPath) {
  auto ep = parse_ok("socket:///tmp/reasonchip-broker-client.sock");
  EXPECT_EQ(ep.type, endpoint::kind::unix_socket);
  EXPECT_EQ(ep.path, "/tmp/reasonchip-broker-client.sock");
  EXPECT_TRUE(ep.host.empty());
  EXPECT_EQ(ep.to_string(), "socket:///tmp/reasonchip-broker-client.sock");
  EXPECT_EQ(parse_ok("socket:///s").path, "/s");
  EXPECT_EQ(parse_ok("socket:///a b/c:d").path, "/a b/c:d");
}

TEST(Endpoint, UnixSocketPathMustBeAbsoluteAndName) {
  auto relative = parse_error("socket://tmp/x.sock");
  EXPECT_TRUE(contains(relative, "absolute")) << relative;
  EXPECT_TRUE(contains(relative, "socket:///")) << relative;
  EXPECT_TRUE(contains(parse_error("socket://"), "missing socket path"));
  EXPECT_TRUE(contains(parse_error("socket:///"), "directory"));
  EXPECT_TRUE(contains(parse_error("socket:///tmp/"), "directory"));
  EXPECT_TRUE(contains(parse_error(std::string_view("socket:///tmp/a\0b", 17)), "NUL"));
}

TEST(Endpoint, UnixSocketPathLengthLimit) {
  // sun_path holds 108 bytes on Linux, the terminating NUL included.
  std::string ok = "socket://" + std::string(1, '/') + std::string(106, 'a');
  EXPECT_EQ(parse_ok(ok).path.size(), 107u);
  std::string too_long = ok + "a";
  EXPECT_TRUE(contains(parse_error(too_long), "longer than"));
}

TEST(Endpoint, SchemeIsCaseInsensitive) {
  EXPECT_EQ(parse_ok("TCP://h:5").port, 5);
  EXPECT_EQ(parse_ok("Socket:///x").path, "/x");
}

TEST(Endpoint, UnsupportedOrMissingScheme) {
  auto error = parse_error("ftp://x");
  EXPECT_EQ(error, "unsupported scheme in 'ftp://x': use tcp://HOST:PORT, tls://HOST:PORT, "
                   "socket:///PATH, http://HOST:PORT or grpc://HOST:PORT");
  for (auto url : {"unix:///tmp/x", "tcp:/h:1", "tcp:h:1", "localhost:51500", "", "://h",
                   " tcp://h:1", "tcpx://h", "httpx://h"}) {
    auto e = parse_error(url);
    EXPECT_TRUE(contains(e, "tcp://HOST:PORT")) << e;
    EXPECT_TRUE(contains(e, "socket:///PATH")) << e;
  }
  EXPECT_TRUE(contains(parse_error("localhost:51500"), "missing scheme"));
}

TEST(Endpoint, TheOriginalsOtherSchemesTakeTheirDefaultPorts) {
  auto ports = [](std::string_view url, default_ports defaults) {
    auto r = parse_endpoint(url, defaults);
    EXPECT_TRUE(r.value) << r.error;
    return r.value ? r.value->port : std::uint16_t{0};
  };
  EXPECT_EQ(ports("tcp://[::1]/", client_ports), 51500);
  EXPECT_EQ(ports("grpc://[::1]", client_ports), 51501);
  EXPECT_EQ(ports("http://[::1]/", client_ports), 51502);
  EXPECT_EQ(ports("https://localhost", client_ports), 51502);
  EXPECT_EQ(ports("tls://h", worker_ports), 51510);
  EXPECT_EQ(ports("grpc://0.0.0.0/", worker_ports), 51511);
  EXPECT_EQ(ports("GRPCS://h:9", worker_ports), 9);
  auto http = parse_ok("HTTP://127.0.0.1:8080/");
  EXPECT_EQ(http.type, endpoint::kind::http);
  EXPECT_EQ(http.to_string(), "http://127.0.0.1:8080");
  EXPECT_FALSE(http.is_framed());
  EXPECT_FALSE(http.uses_tls());
  EXPECT_TRUE(parse_ok("https://h:1").uses_tls());
  EXPECT_TRUE(parse_ok("grpcs://h:1").uses_tls());
  EXPECT_TRUE(parse_ok("tls://h:1").is_framed());
  auto hint = parse_error("grpc://::1:5");
  EXPECT_TRUE(contains(hint, "grpc://[V6ADDR]:PORT")) << hint;
  EXPECT_TRUE(contains(parse_error("http://h/path"), "http://HOST:PORT"));
}

TEST(Endpoint, ToStringRoundTrips) {
  for (auto url : {"tcp://127.0.0.1:1", "tcp://[::1]:51500", "tcp://[fe80::1%eth0]:2",
                   "tcp://name:65535", "socket:///var/run/broker.sock", "https://[::1]:3",
                   "grpc://h:4", "grpcs://h:5", "tls://h:6", "http://h:7"}) {
    EXPECT_EQ(parse_ok(url).to_string(), url);
  }
  endpoint v6;
  v6.host = "::1";
  v6.port = 7;
  EXPECT_EQ(v6.to_string(), "tcp://[::1]:7");
}

} // namespace
} // namespace rcbroker::transport
