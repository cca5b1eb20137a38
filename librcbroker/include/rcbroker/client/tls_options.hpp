#pragma once

// What a client or worker trusts and presents when it connects to a tls:// endpoint.

#include "rcbroker/transport/endpoint.hpp"

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace rcbroker::client {

/// PEM files for tls:// endpoints; unused for tcp:// and socket://.
struct tls_options {
  /// CAs the node's certificate must chain to (the node's certificate must also name the
  /// endpoint's host or address); empty: the system's default CAs.
  std::string ca_file;
  /// A client certificate, for nodes that ask for one (`tls-client-ca`); empty: none.
  std::string cert_file;
  /// The client certificate's private key, not encrypted; required with `cert_file`.
  std::string key_file;
};

/// The TLS client context for connecting to `where` with `options`: null unless `where` is a
/// tls:// endpoint. Made once per client or worker and shared by its connections. Throws
/// std::runtime_error naming the file that cannot be used and why.
std::shared_ptr<boost::asio::ssl::context> tls_context_for(const transport::endpoint& where,
                                                           const tls_options& options);

} // namespace rcbroker::client
