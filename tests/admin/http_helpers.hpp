#pragma once

// Small HTTP helpers for the admin tests: raw bytes to the admin port (for malformed requests)
// and the port of an admin URL.

#include <cstdint>
#include <string>

namespace rcbroker::test_support {

/// The port of "http://HOST:PORT".
std::uint16_t port_of(const std::string& url);

/// A blocking TCP connection to 127.0.0.1:`port`; -1 when it cannot connect.
int connect_to(std::uint16_t port);

/// Connects to 127.0.0.1:`port`, writes `request` as it is, and returns every byte the server
/// sent until it closed the connection or `timeout_ms` passed.
std::string raw_http(std::uint16_t port, const std::string& request, int timeout_ms = 5000);

/// The status code of the first response in `bytes` ("HTTP/1.1 404 ..." gives 404), or 0.
unsigned status_of(const std::string& bytes);

} // namespace rcbroker::test_support
