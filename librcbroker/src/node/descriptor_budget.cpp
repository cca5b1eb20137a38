#include "rcbroker/node/descriptor_budget.hpp"

#include <sys/resource.h>

namespace rcbroker::node {

namespace {

std::string zero_limits(const descriptor_budget& b) {
  std::string out;
  if (b.max_client_connections == 0)
    out = "max-client-connections";
  if (b.max_worker_connections == 0)
    out += (out.empty() ? "" : " and ") + std::string{"max-worker-connections"};
  return out;
}

} // namespace

bool descriptor_budget::unbounded() const noexcept {
  return max_client_connections == 0 || max_worker_connections == 0;
}

std::uint64_t descriptor_budget::needed() const noexcept {
  return std::uint64_t{max_client_connections} + max_worker_connections + reserved_descriptors;
}

std::string descriptor_budget::error() const {
  if (unlimited || limit == 0 || unbounded() || needed() <= limit)
    return {};
  auto n = std::to_string(needed());
  return "too few file descriptors: max-client-connections (" +
         std::to_string(max_client_connections) + ") + max-worker-connections (" +
         std::to_string(max_worker_connections) + ") + " + std::to_string(reserved_descriptors) +
         " for listeners, admin, cluster and log need " + n + ", but the process may open only " +
         std::to_string(limit) + " (RLIMIT_NOFILE, hard limit " + std::to_string(hard_limit) +
         "); raise the limit (ulimit -n " + n +
         " in the shell that starts rcbroker, "
         "LimitNOFILE=" +
         n +
         " or more in its systemd unit) or lower max-client-connections "
         "and max-worker-connections until their sum + " +
         std::to_string(reserved_descriptors) + " fits";
}

std::string descriptor_budget::warning() const {
  if (!unbounded())
    return {};
  auto which = zero_limits(*this);
  auto limit_text =
      unlimited ? std::string{"the descriptor limit"} : std::to_string(limit) + " file descriptors";
  return which + " 0 (no limit): connections may take all " + limit_text +
         ", and then no worker can REGISTER and the admin endpoint cannot answer; set both "
         "limits so that their sum + " +
         std::to_string(reserved_descriptors) +
         " fits the descriptor limit (ulimit -n, LimitNOFILE)";
}

std::string descriptor_budget::summary() const {
  std::string out = "file descriptors: limit ";
  out += unlimited ? "unlimited" : limit == 0 ? "unknown" : std::to_string(limit);
  if (limit != limit_before)
    out += " (raised from " + std::to_string(limit_before) + " to the hard limit)";
  else if (!unlimited && limit != 0 && limit < hard_limit)
    out += " (the hard limit " + std::to_string(hard_limit) + " could not be taken)";
  if (unbounded())
    return out + "; connections: no limit (" + zero_limits(*this) + " 0)";
  return out + "; " + std::to_string(max_client_connections) + " client + " +
         std::to_string(max_worker_connections) + " worker connections + " +
         std::to_string(reserved_descriptors) + " reserved need " + std::to_string(needed());
}

descriptor_budget raise_descriptor_limit(const settings& s) {
  descriptor_budget b;
  b.max_client_connections = s.max_client_connections;
  b.max_worker_connections = s.max_worker_connections;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return b;
  b.limit_before = rl.rlim_cur;
  b.hard_limit = rl.rlim_max;
  if (rl.rlim_cur < rl.rlim_max) {
    // Linux refuses RLIM_INFINITY for descriptors (fs.nr_open caps them): the limit stays then.
    rlimit raised{rl.rlim_max, rl.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl.rlim_cur = rl.rlim_max;
  }
  b.unlimited = rl.rlim_cur == RLIM_INFINITY;
  b.limit = rl.rlim_cur;
  return b;
}

} // namespace rcbroker::node
