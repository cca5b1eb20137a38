#pragma once

// Whether a TLS error is the node refusing the certificate a client or worker presented.

#include <boost/system/error_code.hpp>

namespace rcbroker::client {

/// True when `ec` is a TLS alert by which the peer refused a certificate (unknown CA, bad,
/// unsupported, revoked, expired or unknown certificate, access denied, certificate required):
/// with TLS 1.3 a node's refusal of the client certificate comes after the handshake, as such
/// an alert on the first read. Another attempt with the same certificate would fail alike.
bool certificate_refused(const boost::system::error_code& ec) noexcept;

} // namespace rcbroker::client
