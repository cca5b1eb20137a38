#pragma once

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/node/settings.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace rcbroker::transport {
class listener;
} // namespace rcbroker::transport

namespace rcbroker::admin {
class http_server;
} // namespace rcbroker::admin

namespace rcbroker::actors {
struct switchboard_config;
} // namespace rcbroker::actors

namespace rcbroker::journal {
class journal_store;
} // namespace rcbroker::journal

namespace rcbroker::node {

/// The start refused because the journal file holds what this node cannot use (not SQLite, another
/// application's database, a table it cannot read): a restart does not mend it, the operator does.
struct unusable_journal : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A running broker node: one I/O thread that runs the sockets and, through
/// runtime::io_scheduler, every actor of the node's actor system (the Switchboard, the Broker,
/// a connection actor per socket), and the listeners. Construction binds every endpoint (throwing
/// std::runtime_error with a message for the operator when one cannot be bound); `shutdown` stops
/// it in order.
class node {
public:
  /// Starts a node; `cfg` holds CAF's settings and must outlive the node.
  node(const settings& s, caf::actor_system_config& cfg);

  /// Shuts down (if not done yet), destroys the actor system and joins the I/O thread.
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Orderly shutdown as PROTOCOL.md describes: stop accepting, SHUTDOWN to workers,
  /// BROKER_WENT_AWAY for open routes, close connections, remove Unix socket files.
  void shutdown();

  /// Drains: new RUNs get NO_CAPACITY and /healthz 503 while the open tasks finish, for up to
  /// `timeout`; returns whether every task finished in time. Call before shutdown().
  bool drain(std::chrono::milliseconds timeout);

  /// The client endpoints as bound (real ports when 0 was asked for).
  std::vector<std::string> client_urls() const;

  /// The worker endpoints as bound.
  std::vector<std::string> worker_urls() const;

  /// The actor system (for actor clients and tests).
  caf::actor_system& system() noexcept { return *system_; }

  /// The Switchboard.
  const actors::switchboard_actor& switchboard() const noexcept { return switchboard_; }

  /// The Broker.
  const actors::broker_actor& broker() const noexcept { return broker_; }

  /// The port this node's cluster face is published on for other nodes (0: not published).
  std::uint16_t cluster_port() const noexcept { return cluster_port_; }

  /// The actor other nodes reach on the cluster port (null when the node does not cluster).
  const actors::cluster_face_actor& cluster_face() const noexcept { return face_; }

  /// The admin endpoint as bound, e.g. "http://127.0.0.1:51580" (empty when `admin` is off).
  std::string admin_url() const;

private:
  void start(const settings& s);
  void start_cluster(const settings& s);
  void start_journal(const settings& s, actors::switchboard_config& sb_cfg);
  void stop_io_thread();

  // The io_context outlives the actor system: the actors run in its handlers
  // (runtime::io_scheduler) and hold sockets bound to it. Its thread runs until ~node.
  boost::asio::io_context io_context_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread io_thread_;
  /// The journal file as opened before any endpoint is bound, so that one the node cannot use
  /// refuses the start before anything is served; the journal actor takes it in start().
  struct journal_file {
    std::unique_ptr<journal::journal_store> store;
    std::vector<journal::journal_entry> held;
    std::string error; // why it could not be opened (the node starts without it)
  };
  static journal_file open_journal(const settings& s);
  journal_file journal_file_;
  // Made once for every tls:// endpoint (null when there is none); before the listeners.
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::vector<std::shared_ptr<transport::listener>> client_listeners_;
  std::vector<std::shared_ptr<transport::listener>> worker_listeners_;
  std::shared_ptr<admin::http_server> admin_;
  std::unique_ptr<caf::actor_system> system_; // destroyed in ~node, while the io thread runs
  actors::switchboard_actor switchboard_;
  /// The journal actor (null without `journal`).
  actors::journal_actor journal_;
  actors::broker_actor broker_;
  actors::cluster_face_actor face_;
  actors::cluster_membership_actor membership_;
  std::uint16_t cluster_port_ = 0;
  bool stopped_ = false;
};

} // namespace rcbroker::node
