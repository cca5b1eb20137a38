#include "rcbroker/node/node.hpp"

#include "rcbroker/actors/broker.hpp"
#include "rcbroker/actors/journal.hpp"
#include "rcbroker/actors/switchboard.hpp"
#include "rcbroker/admin/http_server.hpp"
#include "rcbroker/admin/routes.hpp"
#include "rcbroker/cluster/clustering.hpp"
#include "rcbroker/cluster/face.hpp"
#include "rcbroker/cluster/membership.hpp"
#include "rcbroker/runtime/io_scheduler.hpp"
#include "rcbroker/transport/socket_listener.hpp"
#include "rcbroker/transport/tls_context.hpp"
#ifdef RCBROKER_WITH_GRPC
#include "rcbroker/transport/grpc_listener.hpp"
#endif

#include <algorithm>
#include <boost/asio/post.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>
#include <filesystem>
#include <future>
#include <spdlog/spdlog.h>
#include <unistd.h>

#ifndef RCBROKER_VERSION
#define RCBROKER_VERSION "unknown"
#endif

namespace rcbroker::node {

namespace {

transport::stream::limits limits_of(const settings& s) {
  transport::stream::limits lim;
  lim.max_frame_size = s.max_frame_size;
  lim.max_write_queue = s.max_write_queue;
  lim.idle_timeout = s.idle_timeout;
  lim.first_packet_timeout = s.first_packet_timeout;
  return lim;
}

#ifdef RCBROKER_WITH_GRPC
transport::grpc_listener_options grpc_options_of(const settings& s) {
  transport::grpc_listener_options opts;
  opts.limits = limits_of(s);
  opts.tls_cert = s.tls_cert;
  opts.tls_key = s.tls_key;
  opts.tls_client_ca = s.tls_client_ca;
  return opts;
}
#endif

// Reads the TLS files once at start, and only when some endpoint needs them.
std::shared_ptr<boost::asio::ssl::context> tls_context_of(const settings& s) {
  if (!first_tls_endpoint(s))
    return nullptr;
  return transport::make_tls_server_context({s.tls_cert, s.tls_key, s.tls_client_ca});
}

std::vector<std::shared_ptr<transport::listener>>
bind_all(boost::asio::io_context& ioc, const std::vector<std::string>& urls,
         transport::default_ports defaults, const settings& s,
         const std::shared_ptr<boost::asio::ssl::context>& tls) {
  transport::listener_options opts;
  opts.unix_socket_mode = parse_socket_mode(s.unix_socket_mode).value_or(opts.unix_socket_mode);
  opts.tls = tls;
  opts.max_http_connections = s.max_client_connections;
  std::vector<std::shared_ptr<transport::listener>> result;
  for (auto& url : urls) {
    auto parsed = transport::parse_endpoint(url, defaults);
    if (!parsed.value)
      throw std::runtime_error(parsed.error);
    auto& ep = *parsed.value;
#ifdef RCBROKER_WITH_GRPC
    if (ep.type == transport::endpoint::kind::grpc || ep.type == transport::endpoint::kind::grpcs) {
      result.push_back(std::make_shared<transport::grpc_listener>(ioc, ep, grpc_options_of(s)));
      continue;
    }
#endif
    // settings::validate refuses these first: a node built without gRPC gets here only when
    // started without the check.
    if (ep.type == transport::endpoint::kind::grpc || ep.type == transport::endpoint::kind::grpcs)
      throw std::runtime_error(url + ": " + ep.scheme() + ":// endpoints are not served yet");
    result.push_back(std::make_shared<transport::socket_listener>(ioc, ep, limits_of(s), opts));
  }
  return result;
}

// The actors run on the io thread, whatever CAF's scheduler settings say; clustering needs CAF's
// middleman. Both are modules, added to the config before the system exists.
bool clusters(const settings& s) {
  return s.cluster_port != 0 || !s.cluster_peers.empty();
}

caf::actor_system_config& prepared(caf::actor_system_config& cfg, const settings& s,
                                   boost::asio::io_context& ioc) {
  runtime::io_scheduler::install(cfg, ioc);
  if (!clusters(s))
    return cfg;
  cluster::clustering_options opts;
  opts.tls_cert = s.cluster_tls_cert;
  opts.tls_key = s.cluster_tls_key;
  opts.tls_ca = s.cluster_tls_ca;
  // CAF's OpenSSL module reads the files at each connection and throws on its own thread if
  // they do not load: load them once here, where a failure stops the start with its reason.
  if (opts.tls()) {
    try {
      transport::make_tls_server_context({opts.tls_cert, opts.tls_key, opts.tls_ca});
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string{"cluster TLS: "} + e.what());
    }
  }
  // A frame crosses in one message, with room for CAF's envelope and a link's batching.
  opts.max_payload = s.max_frame_size + 64 * 1024;
  opts.max_connections = s.cluster_max_connections;
  cluster::enable_clustering(cfg, opts);
  return cfg;
}

// The address other members dial: as configured, else where the cluster port listens.
std::string advertised_address(const settings& s, std::uint16_t port) {
  if (!s.cluster_advertise.empty())
    return s.cluster_advertise;
  if (port == 0)
    return {};
  cluster::peer_address address{s.cluster_bind, port};
  if (address.host.empty() || address.host == "0.0.0.0" || address.host == "::") {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0)
      address.host = host;
  }
  return address.to_string();
}

// Binds the admin endpoint before any actor exists, so that a busy port fails the start cleanly.
std::shared_ptr<admin::http_server> bind_admin(boost::asio::io_context& ioc, const settings& s) {
  if (s.admin.empty())
    return nullptr;
  auto parsed = admin::parse_address(s.admin);
  if (!parsed.value)
    throw std::runtime_error("admin: " + parsed.error);
  return std::make_shared<admin::http_server>(ioc, *parsed.value);
}

admin::node_info info_of(const settings& s, const admin::http_server& server) {
  admin::node_info info;
  info.name = s.node_name;
  if (info.name.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0)
      info.name = host;
  }
  info.version = RCBROKER_VERSION;
  info.admin_url = server.url();
  return info;
}

std::vector<std::string> urls_of(const std::vector<std::shared_ptr<transport::listener>>& ls) {
  std::vector<std::string> result;
  for (auto& l : ls)
    result.push_back(l->bound_url());
  return result;
}

} // namespace

node::node(const settings& s, caf::actor_system_config& cfg)
    : work_(boost::asio::make_work_guard(io_context_)), journal_file_(open_journal(s)),
      tls_context_(tls_context_of(s)),
      client_listeners_(
          bind_all(io_context_, s.client_endpoints, transport::client_ports, s, tls_context_)),
      worker_listeners_(
          bind_all(io_context_, s.worker_endpoints, transport::worker_ports, s, tls_context_)),
      admin_(bind_admin(io_context_, s)) {
  io_thread_ = std::thread{[this] {
    // A handler that throws must not take every connection with it: log it and go on.
    for (;;) {
      try {
        io_context_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("an I/O handler failed ({}); the node goes on", e.what());
      }
    }
  }};
  try {
    system_ = std::make_unique<caf::actor_system>(prepared(cfg, s, io_context_));
    start(s);
  } catch (...) {
    if (system_) {
      shutdown();
      system_.reset();
    }
    stop_io_thread();
    throw;
  }
}

void node::start(const settings& s) {
  auto& sys = *system_;
  actors::switchboard_config sb_cfg;
  sb_cfg.cancel_grace = s.cancel_grace;
  sb_cfg.queue_limit = s.queue_limit;
  sb_cfg.cancel_orphans = s.cancel_orphans;
  sb_cfg.max_runs_per_client = s.max_runs_per_client;
  sb_cfg.max_runs_per_address = s.max_runs_per_address;
  sb_cfg.max_worker_capacity = s.max_worker_capacity;
  sb_cfg.max_task_duration = s.max_task_duration;
  sb_cfg.retries_on_worker_loss = static_cast<std::uint32_t>(
      std::min<std::size_t>(s.retries_on_worker_loss, actors::max_retries_on_worker_loss));
  start_journal(s, sb_cfg);
  switchboard_ = actors::spawn_switchboard(sys, sb_cfg);
  // Before the Broker exists, so before any RUN: the runs from before this start come first.
  if (!journal_file_.held.empty())
    caf::anon_send(switchboard_, actors::replay_atom::value, std::move(journal_file_.held));
  actors::broker_config b_cfg;
  b_cfg.client_listeners = client_listeners_;
  b_cfg.worker_listeners = worker_listeners_;
  b_cfg.status_interval = s.status_interval;
  b_cfg.max_client_connections = s.max_client_connections;
  b_cfg.max_worker_connections = s.max_worker_connections;
  b_cfg.worker_token = s.worker_token;
  if (clusters(s))
    start_cluster(s);
  b_cfg.membership = membership_;
  broker_ = actors::spawn_broker(sys, std::move(b_cfg), switchboard_);
  if (admin_) {
    admin_->start(admin::make_routes(sys, broker_, info_of(s, *admin_)));
    spdlog::info("admin endpoint on {} (/metrics, /healthz, /status)", admin_->url());
  }
}

node::journal_file node::open_journal(const settings& s) {
  journal_file file;
  if (s.journal.empty())
    return file;
  const std::string what_to_do = "Move the file away (keep it to inspect with sqlite3) or delete "
                                 "it, then start again: the node creates an empty one";
  auto sync = journal::journal_sync::batch;
  journal::parse_journal_sync(s.journal_sync, sync);
  auto folder = std::filesystem::path{s.journal}.parent_path();
  if (!folder.empty() && !std::filesystem::is_directory(folder))
    throw std::runtime_error("journal " + s.journal + ": its folder " + folder.string() +
                             " does not exist; create it or choose another");
  auto opened = journal::journal_store::open(s.journal, sync);
  if (opened.in_use)
    throw std::runtime_error(opened.error + ": stop the other node, or give this one a journal of "
                                            "its own");
  if (opened.unusable)
    throw unusable_journal(opened.error + ": not a journal this node can use. " + what_to_do);
  if (!opened.store) {
    file.error = std::move(opened.error);
    return file;
  }
  std::string error;
  if (!opened.store->load(file.held, error))
    throw unusable_journal("journal " + s.journal + ": cannot read it: " + error + ". " +
                           what_to_do);
  file.store = std::move(opened.store);
  return file;
}

void node::start_journal(const settings& s, actors::switchboard_config& sb_cfg) {
  if (s.journal.empty())
    return;
  if (journal_file_.store)
    spdlog::info("journal {} (journal-sync {}): {} run(s) from before this start run again as "
                 "workers register",
                 s.journal, s.journal_sync, journal_file_.held.size());
  else
    spdlog::error("{}: the node starts without it; detached RUNs get NO_CAPACITY until it can "
                  "be written (tried again every second as RUNs come); other work is served",
                  journal_file_.error);
  auto sync = journal::journal_sync::batch;
  journal::parse_journal_sync(s.journal_sync, sync);
  journal_ = actors::spawn_journal(*system_, std::move(journal_file_.store), s.journal, sync);
  sb_cfg.journal = journal_;
  sb_cfg.journal_max_runs = s.journal_max_runs;
}

void node::start_cluster(const settings& s) {
  auto& sys = *system_;
  bool tls = !s.cluster_tls_cert.empty();
  face_ = cluster::spawn_face(sys, switchboard_,
                              {s.worker_token, s.max_client_connections, s.max_worker_connections});
  cluster::membership_config m_cfg;
  m_cfg.name = s.node_name;
  m_cfg.address = advertised_address(s, static_cast<std::uint16_t>(s.cluster_port));
  m_cfg.tls = tls;
  m_cfg.max_batch_bytes = s.max_frame_size;
  m_cfg.max_members = s.cluster_max_connections;
  for (auto& text : s.cluster_peers) {
    cluster::peer_address address;
    std::string error;
    if (cluster::parse_peer_address(text, address, error))
      m_cfg.peers.push_back(address);
  }
  auto address = m_cfg.address;
  membership_ = cluster::spawn_membership(sys, switchboard_, face_, std::move(m_cfg));
  // The face takes its membership actor from a named local sender only, and has it before the
  // port is open: no greeting finds it unbound, and no remote sender can bind it first.
  {
    caf::scoped_actor self{sys};
    self->send(face_, actors::bind_atom::value, membership_);
  }
  if (s.cluster_port == 0)
    return;
  auto requested = static_cast<std::uint16_t>(s.cluster_port);
  auto port = tls ? caf::openssl::publish(face_, requested, s.cluster_bind.c_str(), true)
                  : sys.middleman().publish(face_, requested, s.cluster_bind.c_str(), true);
  if (!port)
    throw std::runtime_error("cannot publish the cluster port " + s.cluster_bind + ":" +
                             std::to_string(s.cluster_port) + ": " + sys.render(port.error()));
  cluster_port_ = *port;
  spdlog::info("cluster: this node{} is reachable for members on {}:{}{} and advertises {}",
               s.node_name.empty() ? "" : " (" + s.node_name + ")", s.cluster_bind, cluster_port_,
               tls ? " (TLS)" : "", address);
}

node::~node() {
  shutdown();
  // ~actor_system clears the scheduler's queue and clock on the io thread, so that still runs.
  system_.reset();
  stop_io_thread();
}

void node::stop_io_thread() {
  // Let queued socket work (final flushes, closes) finish, then stop the I/O thread.
  work_.reset();
  for (int i = 0; i < 200 && !io_context_.stopped(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  io_context_.stop(); // a socket still open after 2 s is not waited for
  if (io_thread_.joinable())
    io_thread_.join();
}

void node::shutdown() {
  if (stopped_)
    return;
  stopped_ = true;
  auto& sys = *system_;
  if (broker_) {
    caf::scoped_actor self{sys};
    self->request(broker_, std::chrono::seconds{30}, actors::shutdown_atom::value)
        .receive([](actors::done_atom) {},
                 [](caf::error& err) {
                   spdlog::warn("shutdown did not complete: {}", caf::to_string(err));
                 });
  }
  // The Switchboard sent its last journal batch before it answered the shutdown: written here.
  if (journal_) {
    caf::scoped_actor self{sys};
    self->request(journal_, std::chrono::seconds{30}, actors::shutdown_atom::value)
        .receive([](actors::done_atom) {},
                 [](caf::error& err) {
                   spdlog::warn("the journal's last batch was not confirmed: {}",
                                caf::to_string(err));
                 });
    caf::anon_send_exit(journal_, caf::exit_reason::user_shutdown);
    // Its thread ends only when the last handle goes: ~actor_system waits for that thread.
    journal_ = nullptr;
  }
  // A published actor keeps ~actor_system waiting until it ends.
  if (membership_)
    caf::anon_send_exit(membership_, caf::exit_reason::user_shutdown);
  if (face_)
    caf::anon_send_exit(face_, caf::exit_reason::user_shutdown);
  if (broker_)
    caf::anon_send_exit(broker_, caf::exit_reason::user_shutdown);
  if (switchboard_)
    caf::anon_send_exit(switchboard_, caf::exit_reason::user_shutdown);
  // /healthz said 503 throughout the shutdown above; now the endpoint goes too.
  if (admin_)
    admin_->stop();
  sys.await_all_actors_done();
  // What the actors left to the io thread (the listeners' unlinks, the last closes) runs before
  // this returns.
  auto barrier = std::make_shared<std::promise<void>>();
  boost::asio::post(io_context_, [barrier] { barrier->set_value(); });
  barrier->get_future().wait_for(std::chrono::seconds{5});
  spdlog::info("broker node stopped");
}

bool node::drain(std::chrono::milliseconds timeout) {
  if (stopped_ || !broker_)
    return true;
  caf::scoped_actor self{*system_};
  bool drained = false;
  self->request(broker_, timeout, actors::drain_atom::value)
      .receive([&](actors::done_atom) { drained = true; },
               [&](caf::error&) {
                 spdlog::warn("drain-timeout ({} ms) ran out with tasks still open; stopping "
                              "anyway (their clients get BROKER_WENT_AWAY)",
                              timeout.count());
               });
  return drained;
}

std::string node::admin_url() const {
  return admin_ ? admin_->url() : std::string{};
}

std::vector<std::string> node::client_urls() const {
  return urls_of(client_listeners_);
}

std::vector<std::string> node::worker_urls() const {
  return urls_of(worker_listeners_);
}

} // namespace rcbroker::node
