#include "test_node.hpp"

#include <caf/scoped_actor.hpp>
#include <arpa/inet.h>
#include <cstdlib>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace rcbroker::test_support {

std::string make_temp_dir() {
  std::string templ = "/tmp/rcbroker-test-XXXXXX";
  if (!::mkdtemp(templ.data()))
    throw std::runtime_error("mkdtemp failed");
  return templ;
}

std::uint16_t free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free TCP port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

test_node::test_node(const std::function<void(node::settings&)>& adjust) : dir_(make_temp_dir()) {
  node::settings s;
  s.client_endpoints = {"tcp://127.0.0.1:0", "socket://" + dir_ + "/client.sock"};
  s.worker_endpoints = {"tcp://127.0.0.1:0", "socket://" + dir_ + "/worker.sock"};
  s.status_interval = std::chrono::milliseconds{0};
  if (adjust)
    adjust(s);
  cfg_.set("scheduler.policy", caf::atom("sharing"));
  cfg_.set("scheduler.max-threads", 2);
  node_ = std::make_unique<node::node>(s, cfg_);
  auto clients = node_->client_urls();
  auto workers = node_->worker_urls();
  client_tcp = clients.at(0);
  client_unix = clients.at(1);
  worker_tcp = workers.at(0);
  worker_unix = workers.at(1);
}

test_node::~test_node() {
  shutdown();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void test_node::shutdown() {
  if (node_)
    node_->shutdown();
}

actors::switchboard_status test_node::status() {
  caf::scoped_actor self{node_->system()};
  actors::switchboard_status result;
  self->request(node_->switchboard(), std::chrono::seconds{5}, actors::status_atom::value)
      .receive([&](const actors::switchboard_status& s) { result = s; },
               [](caf::error&) { throw std::runtime_error("status request failed"); });
  return result;
}

actors::node_snapshot test_node::metrics() {
  caf::scoped_actor self{node_->system()};
  actors::node_snapshot result;
  self->request(node_->broker(), std::chrono::seconds{5}, actors::metrics_atom::value)
      .receive([&](actors::node_snapshot& s) { result = std::move(s); },
               [](caf::error&) { throw std::runtime_error("metrics request failed"); });
  return result;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

std::uint64_t rss_kib(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6));
  return 0;
}

} // namespace rcbroker::test_support
