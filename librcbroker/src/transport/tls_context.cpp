#include "rcbroker/transport/tls_context.hpp"

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <stdexcept>

namespace rcbroker::transport {

namespace ssl = boost::asio::ssl;

namespace {

[[noreturn]] void cannot_use(const char* setting, const std::string& file,
                             const boost::system::error_code& ec) {
  throw std::runtime_error(std::string{setting} + ": cannot use " + file + ": " + ec.message());
}

} // namespace

std::shared_ptr<ssl::context> make_tls_server_context(const tls_files& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  ::SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(files.cert, ec);
  if (ec)
    cannot_use("tls-cert", files.cert, ec);
  ctx->use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec)
    cannot_use("tls-key", files.key, ec);
  if (::SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw std::runtime_error("tls-key: " + files.key + " is not the key of the certificate in " +
                             files.cert);
  if (!files.client_ca.empty()) {
    ctx->load_verify_file(files.client_ca, ec);
    if (ec)
      cannot_use("tls-client-ca", files.client_ca, ec);
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    // Tells peers which CAs are accepted, so that one holding several certificates picks right.
    if (auto* names = ::SSL_load_client_CA_file(files.client_ca.c_str()))
      ::SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
  }
  return ctx;
}

} // namespace rcbroker::transport
