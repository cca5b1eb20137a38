#pragma once

// Self-signed certificates made at test time with the openssl command-line tool.

#include <string>

namespace rcbroker::test_support {

/// A certificate and its private key, as PEM files.
struct test_certificate {
  std::string cert; ///< path of the certificate (also usable as the CA that signed it)
  std::string key;  ///< path of its unencrypted private key
};

/// Makes a self-signed RSA certificate for CN=`common_name`, valid for a day, as
/// `dir`/`name`-cert.pem and `dir`/`name`-key.pem; throws std::runtime_error when openssl fails.
/// Its subjectAltName is DNS:`common_name`, and for "localhost" also IP:127.0.0.1 and IP:::1.
test_certificate make_self_signed(const std::string& dir, const std::string& name,
                                  const std::string& common_name = "localhost");

} // namespace rcbroker::test_support
