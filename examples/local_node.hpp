#pragma once

// The examples' in-process node: clients and workers on 127.0.0.1 with ports the kernel picks,
// and RUNs that wait for a slot instead of NO_CAPACITY (so a worker may register after them).

#include "rcbroker/node/logging.hpp"
#include "rcbroker/node/node.hpp"

#include <caf/actor_system_config.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace examples {

/// A node running in this process until the object goes.
class local_node {
public:
  /// Starts the node; `prepare` may change CAF's config first (e.g. to enable clustering), and
  /// `adjust` the node's settings (e.g. to add endpoints after the TCP ones).
  template <class Prepare = void (*)(caf::actor_system_config&)>
  explicit local_node(
      Prepare prepare = [](caf::actor_system_config&) {},
      const std::function<void(rcbroker::node::settings&)>& adjust = {}) {
    rcbroker::node::settings s;
    s.client_endpoints = {"tcp://127.0.0.1:0"};
    s.worker_endpoints = {"tcp://127.0.0.1:0"};
    s.queue_limit = 16;
    s.status_interval = std::chrono::milliseconds{0};
    s.log_level = "warn"; // the node's warnings and errors only
    if (adjust)
      adjust(s);
    rcbroker::node::setup_logging(s);
    prepare(cfg_);
    node_ = std::make_unique<rcbroker::node::node>(s, cfg_);
  }

  /// Where clients connect, e.g. "tcp://127.0.0.1:40123".
  std::string client_url() const { return node_->client_urls().at(0); }

  /// Where workers connect.
  std::string worker_url() const { return node_->worker_urls().at(0); }

  /// The node itself (its actor system and Switchboard).
  rcbroker::node::node& get() { return *node_; }

private:
  caf::actor_system_config cfg_;
  std::unique_ptr<rcbroker::node::node> node_;
};

} // namespace examples
