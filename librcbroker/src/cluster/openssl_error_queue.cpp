// CAF 0.17's OpenSSL module leaves the errors of a failed TLS handshake on the middleman thread's
// OpenSSL error queue (it empties the queue only in a log statement that Debian's build compiles
// out). The next SSL_read on any other connection of that thread, finding no data, then has
// SSL_get_error report the stale error instead of "want read", and CAF closes that connection: a
// stranger with a certificate from another CA could drop every cluster link just by connecting.
// OpenSSL requires the queue to be empty before each TLS I/O call, so these wrappers empty it and
// call OpenSSL's own function. Defined in the program, they take the place of libssl's for CAF's
// module (and for Asio, which empties the queue itself anyway).

#include "openssl_error_queue.hpp"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto next = real<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto next = real<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto next = real<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return next(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto next = real<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

} // extern "C"

namespace rcbroker::cluster {

bool tls_error_queue_emptied() noexcept {
  return true;
}

} // namespace rcbroker::cluster
