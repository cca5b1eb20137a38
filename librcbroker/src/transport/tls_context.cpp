#include "rcbroker/transport/tls_context.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <stdexcept>

namespace rcbroker::transport {

namespace ssl = boost::asio::ssl;

namespace {

[[noreturn]] void cannot_use(const char* setting, const std::string& file,
                             const boost::system::error_code& ec) {
  throw std::runtime_error(std::string{setting} + ": cannot use " + file + ": " + ec.message());
}

// A context of `method` that speaks TLS 1.2 or newer only.
std::shared_ptr<ssl::context> make_modern_context(ssl::context::method method) {
  auto ctx = std::make_shared<ssl::context>(method);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  ::SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  return ctx;
}

} // namespace

std::shared_ptr<ssl::context> make_tls_server_context(const tls_files& files) {
  auto ctx = make_modern_context(ssl::context::tls_server);
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

std::shared_ptr<ssl::context> make_tls_client_context(const tls_client_files& files) {
  if (files.cert.empty() != files.key.empty())
    throw std::runtime_error(
        files.cert.empty() ? "a TLS client key (" + files.key + ") needs its certificate too"
                           : "a TLS client certificate (" + files.cert + ") needs its key too");
  auto ctx = make_modern_context(ssl::context::tls_client);
  boost::system::error_code ec;
  if (files.ca.empty())
    ctx->set_default_verify_paths(ec);
  else
    ctx->load_verify_file(files.ca, ec);
  if (ec)
    throw std::runtime_error("cannot use the TLS CA file " +
                             (files.ca.empty() ? std::string{"(system default)"} : files.ca) +
                             ": " + ec.message());
  ctx->set_verify_mode(ssl::verify_peer);
  if (!files.cert.empty()) {
    ctx->use_certificate_chain_file(files.cert, ec);
    if (ec)
      throw std::runtime_error("cannot use the TLS client certificate " + files.cert + ": " +
                               ec.message());
    ctx->use_private_key_file(files.key, ssl::context::pem, ec);
    if (ec)
      throw std::runtime_error("cannot use the TLS client key " + files.key + ": " + ec.message());
    if (::SSL_CTX_check_private_key(ctx->native_handle()) != 1)
      throw std::runtime_error("the TLS client key " + files.key +
                               " is not the key of the certificate in " + files.cert);
  }
  return ctx;
}

void verify_host(ssl_st* session, const std::string& host) {
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(host, not_ip);
  if (not_ip) {
    // SNI is for names only (RFC 6066).
    ::SSL_set_tlsext_host_name(session, host.c_str());
    ::SSL_set1_host(session, host.c_str());
  } else {
    ::X509_VERIFY_PARAM_set1_ip_asc(::SSL_get0_param(session), host.c_str());
  }
}

} // namespace rcbroker::transport
