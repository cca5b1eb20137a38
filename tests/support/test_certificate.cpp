#include "test_certificate.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace rcbroker::test_support {

test_certificate make_self_signed(const std::string& dir, const std::string& name,
                                  const std::string& common_name) {
  test_certificate c{dir + "/" + name + "-cert.pem", dir + "/" + name + "-key.pem"};
  // Clients verify the name or address they connect to against the subjectAltName.
  std::string names = "DNS:" + common_name;
  if (common_name == "localhost")
    names += ",IP:127.0.0.1,IP:::1";
  std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=" + common_name +
      " -addext subjectAltName=" + names + " -keyout '" + c.key + "' -out '" + c.cert + "' > '" +
      dir + "/openssl-" + name + ".log' 2>&1";
  if (std::system(command.c_str()) != 0 || !std::filesystem::exists(c.cert) ||
      !std::filesystem::exists(c.key))
    throw std::runtime_error("openssl could not make a test certificate (see " + dir + "/openssl-" +
                             name + ".log)");
  return c;
}

} // namespace rcbroker::test_support
