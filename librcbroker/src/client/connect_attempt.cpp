#include "rcbroker/client/connect_attempt.hpp"

#include "../transport/tls_socket.hpp"
#include "certificate_refusal.hpp"
#include "rcbroker/transport/tls_context.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace rcbroker::client {

namespace asio = boost::asio;
using generic_endpoint = asio::generic::stream_protocol::endpoint;

std::shared_ptr<connect_attempt>
connect_attempt::start(strand_type strand, transport::endpoint where,
                       std::chrono::milliseconds timeout, transport::stream::limits limits,
                       std::shared_ptr<asio::ssl::context> tls, handler on_done) {
  auto attempt = std::make_shared<connect_attempt>(strand, std::move(where), limits, std::move(tls),
                                                   std::move(on_done));
  asio::post(strand, [attempt, timeout] { attempt->begin(timeout); });
  return attempt;
}

connect_attempt::connect_attempt(strand_type strand, transport::endpoint where,
                                 transport::stream::limits limits,
                                 std::shared_ptr<asio::ssl::context> tls, handler on_done)
    : strand_(strand), where_(std::move(where)), limits_(limits), tls_context_(std::move(tls)),
      on_done_(std::move(on_done)), socket_(strand), resolver_(strand), deadline_(strand) {}

connect_attempt::~connect_attempt() = default;

void connect_attempt::begin(std::chrono::milliseconds timeout) {
  if (done_)
    return;
  deadline_.expires_after(timeout);
  deadline_.async_wait([self = shared_from_this(), timeout](boost::system::error_code ec) {
    if (!ec)
      self->fail("timed out after " + std::to_string(timeout.count()) + " ms" +
                 (self->tls_ ? " in the TLS handshake" : ""));
  });
  if (!where_.is_framed()) {
    finish(nullptr, {connection_failure::kind::unusable,
                     std::string{where_.scheme()} +
                         ":// is for other kinds of clients; this one connects over tcp://, "
                         "tls:// or socket://"});
    return;
  }
  if (where_.type == transport::endpoint::kind::tls && !tls_context_) {
    // Connecting in the clear would send the tasks unencrypted where TLS was asked for.
    finish(nullptr, {connection_failure::kind::unusable, "tls:// needs a TLS client context"});
    return;
  }
  if (where_.type == transport::endpoint::kind::unix_socket) {
    addresses_.emplace_back(asio::local::stream_protocol::endpoint{where_.path});
    try_next_address();
    return;
  }
  // No address_configured flag: it hides ::1 on hosts without a global IPv6 address.
  resolver_.async_resolve(
      where_.host, std::to_string(where_.port), asio::ip::tcp::resolver::numeric_service,
      [self = shared_from_this()](boost::system::error_code ec,
                                  asio::ip::tcp::resolver::results_type results) {
        if (self->done_)
          return;
        if (ec) {
          self->fail("cannot resolve " + self->where_.host + ": " + ec.message());
          return;
        }
        for (const auto& entry : results)
          self->addresses_.emplace_back(entry.endpoint());
        self->try_next_address();
      });
}

void connect_attempt::try_next_address() {
  if (next_address_ >= addresses_.size()) {
    fail(last_error_.empty() ? "no address to connect to" : last_error_);
    return;
  }
  const auto& address = addresses_[next_address_++];
  boost::system::error_code ec;
  socket_.close(ec);
  socket_.open(address.protocol(), ec);
  if (ec) {
    last_error_ = ec.message();
    try_next_address();
    return;
  }
  socket_.async_connect(address, [self = shared_from_this()](boost::system::error_code ec) {
    if (self->done_)
      return;
    if (ec) {
      self->last_error_ = ec.message();
      self->try_next_address();
      return;
    }
    boost::system::error_code ignored;
    if (self->where_.type == transport::endpoint::kind::tcp) {
      self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
      self->socket_.set_option(asio::socket_base::keep_alive(true), ignored);
    }
    if (self->where_.type == transport::endpoint::kind::tls) {
      self->handshake();
      return;
    }
    self->finish(std::make_shared<transport::stream>(std::move(self->socket_), self->limits_,
                                                     self->where_.to_string()),
                 {});
  });
}

void connect_attempt::handshake() {
  tls_ = std::make_unique<transport::tls_socket>(std::move(socket_), *tls_context_);
  auto* ssl = tls_->ssl.native_handle();
  transport::verify_host(ssl, where_.host);
  // Called when the node sends a certificate request: without a certificate of our own, TLS 1.3
  // completes the handshake and the node's refusal would only come with the first read.
  ::SSL_set_cert_cb(
      ssl,
      [](SSL*, void* requested) {
        *static_cast<bool*>(requested) = true;
        return 1;
      },
      &client_cert_requested_);
  tls_->ssl.async_handshake(
      asio::ssl::stream_base::client, [self = shared_from_this()](boost::system::error_code ec) {
        if (self->done_)
          return;
        if (ec || self->refused_without_certificate()) {
          self->finish(nullptr, self->handshake_error(ec));
          return;
        }
        self->finish(std::make_shared<transport::stream>(std::move(self->tls_), self->limits_,
                                                         self->where_.to_string()),
                     {});
      });
}

bool connect_attempt::refused_without_certificate() const {
  return client_cert_requested_ && !::SSL_CTX_get0_certificate(tls_context_->native_handle());
}

connection_failure connect_attempt::handshake_error(const boost::system::error_code& ec) const {
  using kind = connection_failure::kind;
  std::string prefix = "TLS handshake with " + where_.host + " failed: ";
  if (refused_without_certificate())
    return {kind::untrusted,
            prefix + "the node asks for a client certificate (it sets tls-client-ca); give one "
                     "signed by a CA it trusts, with its key (--tls-cert, --tls-key)"};
  auto verify = ::SSL_get_verify_result(tls_->ssl.native_handle());
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH)
    return {kind::untrusted,
            prefix + "certificate verify failed: " + ::X509_verify_cert_error_string(verify) +
                " (the node's certificate does not name " + where_.host +
                "; connect by a name or address it holds)"};
  if (verify != X509_V_OK)
    return {kind::untrusted,
            prefix + "certificate verify failed: " + ::X509_verify_cert_error_string(verify) +
                " (is --tls-ca the CA that signed the node's certificate? without one, the "
                "system's CAs are used)"};
  if (certificate_refused(ec)) // TLS 1.2: the node's refusal comes within the handshake
    return {kind::untrusted, prefix + ec.message() +
                                 " (the node refused the client certificate: is --tls-cert "
                                 "signed by a CA of its tls-client-ca?)"};
  // Anything else (a reset, a plain-TCP port) may be a node restarting or misplaced for a
  // moment: transient.
  if (ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(ec.value()) == SSL_R_WRONG_VERSION_NUMBER)
    return {kind::transient,
            prefix + ec.message() + " (is " + where_.to_string() + " a tls:// endpoint?)"};
  return {kind::transient, prefix + ec.message()};
}

void connect_attempt::cancel() {
  fail("connection attempt cancelled");
}

void connect_attempt::fail(std::string message) {
  finish(nullptr, {connection_failure::kind::transient, std::move(message)});
}

void connect_attempt::finish(transport::stream_ptr stream, connection_failure failure) {
  if (done_)
    return;
  done_ = true;
  boost::system::error_code ignored;
  deadline_.cancel();
  resolver_.cancel();
  if (!stream) {
    socket_.close(ignored);
    if (tls_)
      tls_->ssl.next_layer().close(ignored);
  }
  auto on_done = std::move(on_done_);
  on_done_ = nullptr;
  if (on_done)
    on_done(std::move(stream), std::move(failure));
}

} // namespace rcbroker::client
