#include "rcbroker/node/start_check.hpp"

#include "rcbroker/transport/endpoint.hpp"
#include "rcbroker/transport/tls_context.hpp"

#include <filesystem>
#include <unistd.h>

namespace rcbroker::node {

namespace {

std::string load_tls(const char* keys, const transport::tls_files& files) {
  try {
    transport::make_tls_server_context(files);
  } catch (const std::exception& e) {
    return std::string{keys} + ": " + e.what();
  }
  return {};
}

} // namespace

std::string check_start_files(const settings& s) {
  if (first_tls_endpoint(s))
    if (auto err =
            load_tls("tls-cert, tls-key, tls-client-ca", {s.tls_cert, s.tls_key, s.tls_client_ca});
        !err.empty())
      return err;
  if (!s.cluster_tls_cert.empty())
    if (auto err = load_tls("cluster-tls-cert, cluster-tls-key, cluster-tls-ca",
                            {s.cluster_tls_cert, s.cluster_tls_key, s.cluster_tls_ca});
        !err.empty())
      return err;
  if (!s.log_file.empty()) {
    auto folder = std::filesystem::path{s.log_file}.parent_path();
    if (folder.empty())
      folder = ".";
    if (::access(folder.c_str(), W_OK) != 0)
      return "log-file " + s.log_file + ": its folder " + folder.string() +
             " does not exist or takes no writes from this user; create it or choose another";
  }
  if (!s.journal.empty()) {
    auto folder = std::filesystem::path{s.journal}.parent_path();
    if (folder.empty())
      folder = ".";
    if (!std::filesystem::is_directory(folder))
      return "journal " + s.journal + ": its folder " + folder.string() +
             " does not exist; create it or choose another";
  }
  return {};
}

} // namespace rcbroker::node
