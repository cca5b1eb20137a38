#pragma once

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

struct ssl_st; // OpenSSL's SSL

namespace rcbroker::transport {

/// The PEM files of the node's TLS identity, as the `tls-*` settings name them.
struct tls_files {
  std::string cert;      ///< certificate chain, the node's own certificate first (`tls-cert`)
  std::string key;       ///< its private key, not encrypted (`tls-key`)
  std::string client_ca; ///< CAs a peer's certificate must chain to; empty: none asked for
};

/// A TLS server context (TLS 1.2 or newer) for tls:// endpoints with `files` loaded. With a
/// `client_ca`, a peer must present a certificate that chains to it, or its handshake fails.
/// Throws std::runtime_error naming the setting and the file when one cannot be used.
std::shared_ptr<boost::asio::ssl::context> make_tls_server_context(const tls_files& files);

/// What a TLS client (a client or worker of tls:// endpoints) trusts and presents, as PEM files.
struct tls_client_files {
  std::string ca;   ///< CAs the node's certificate must chain to; empty: the system's default CAs
  std::string cert; ///< the client's own certificate chain, for nodes with `tls-client-ca`
  std::string key;  ///< its private key, not encrypted; required with `cert`
};

/// A TLS client context (TLS 1.2 or newer) that verifies the node's certificate against
/// `files.ca` and presents `files.cert` when one is given. Throws std::runtime_error saying
/// which file cannot be used and why.
std::shared_ptr<boost::asio::ssl::context> make_tls_client_context(const tls_client_files& files);

/// Makes a client `session`, before its handshake, accept only a certificate for `host` (a DNS
/// name, or an IPv4 or IPv6 literal checked against the certificate's IP addresses) and send a
/// name as SNI.
void verify_host(ssl_st* session, const std::string& host);

} // namespace rcbroker::transport
