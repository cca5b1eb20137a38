#pragma once

// Private to the cluster code: see openssl_error_queue.cpp.

namespace rcbroker::cluster {

/// Referenced by enable_clustering so that the program links the wrappers that empty OpenSSL's
/// error queue before each TLS call (they replace libssl's for CAF's OpenSSL module).
bool tls_error_queue_emptied() noexcept;

} // namespace rcbroker::cluster
