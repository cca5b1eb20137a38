#include "test_node.hpp"

#include <caf/scoped_actor.hpp>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace broker::testing {

std::string make_temp_dir() {
  std::string templ = "/tmp/rcbroker-test-XXXXXX";
  if (!::mkdtemp(templ.data()))
    throw std::runtime_error("mkdtemp failed");
  return templ;
}

test_node::test_node(void (*adjust)(node::settings&)) : dir_(make_temp_dir()) {
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

} // namespace broker::testing
