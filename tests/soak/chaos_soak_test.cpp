// Chaos soak: an rcbroker process under steady load from many clients and workers while workers
// are killed and restarted and clients drop, with CANCELs and detached RUNs mixed in. Then every
// RUN of a client that stayed must have had exactly its one right RESULT, no RESULT may have
// reached another client, the node's memory must have settled, and every slot of the remaining
// workers must be usable again. Hostile peers join in: clients that send the same CANCEL many
// times (one may reach the worker) and a worker that asks for 2^32-1 slots and never answers,
// replaced now and then (the node refuses the ask and answers its tasks at their deadline).
// RCBROKER_SOAK_SECONDS sets the load time (default 8).

#include "child_process.hpp"
#include "soak_peers.hpp"
#include "test_node.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <memory>
#include <poll.h>
#include <random>
#include <string>
#include <vector>

namespace rcbroker::test_support::soak {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t client_count = 16;
constexpr std::size_t worker_count = 8;
constexpr std::size_t worker_capacity = 4;
constexpr auto cancel_grace = 100ms;
constexpr std::size_t liar_capacity = 4;
constexpr auto task_deadline = 1500ms;

// Under a sanitizer the node is built alike, and ASan's quarantine holds freed memory (up to
// 256 MiB) by design: its RSS says nothing about leaks there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool rss_is_meaningful = false;
#else
constexpr bool rss_is_meaningful = true;
#endif

std::chrono::seconds soak_duration() {
  if (auto* text = std::getenv("RCBROKER_SOAK_SECONDS"))
    if (auto n = std::atoi(text); n > 0)
      return std::chrono::seconds{n};
  return 8s;
}

/// The node, its peers and the poll loop that drives them all.
class soak {
public:
  /// Starts the node; `ready()` says when it listens.
  soak() {
    node_ = std::make_unique<child_process>(
        RCBROKER_BINARY,
        std::vector<std::string>{
            "--config", RCBROKER_SOURCE_DIR "/caf-application.conf", "--serve",
            "socket://" + client_path(), "--listen", "socket://" + worker_path(), "--cancel-grace",
            std::to_string(cancel_grace.count()) + "ms", "--log-levels",
            "switchboard=error,connection=error", "--max-worker-capacity", "16",
            "--max-task-duration", std::to_string(task_deadline.count()) + "ms"},
        dir_.path + "/node.log");
  }

  /// Whether the node said it is ready (waiting up to 10 s).
  bool ready() { return node_->log_contains("rcbroker ready"); }

  /// The node's client and worker endpoints (Unix sockets).
  std::string client_path() const { return dir_.path + "/c.sock"; }
  std::string worker_path() const { return dir_.path + "/w.sock"; }

  /// Connects a client that keeps `in_flight` RUNs open.
  void add_client(std::size_t in_flight) {
    clients.push_back(std::make_unique<soak_client>(client_path(), book, rng(), in_flight));
  }

  /// Connects a worker, which registers its capacity.
  void add_worker() {
    workers.push_back(std::make_unique<soak_worker>(worker_path(), book, rng(), ++worker_serial_,
                                                    worker_capacity, cancel_grace));
  }

  /// Connects a worker that lies about its capacity and never answers, in place of the last.
  void replace_liar() {
    for (auto& l : liars)
      l->kill();
    liars.clear();
    liars.push_back(std::make_unique<soak_worker>(worker_path(), book, rng(), ++worker_serial_,
                                                  liar_capacity, cancel_grace, true));
  }

  /// Waits up to `timeout` for socket events and handles them.
  void pump(std::chrono::milliseconds timeout) {
    std::vector<pollfd> fds;
    for (auto& c : clients)
      fds.push_back({c->socket.fd(), short(POLLIN | (c->socket.wants_write() ? POLLOUT : 0)), 0});
    for (auto& w : workers)
      fds.push_back({w->socket.fd(), short(POLLIN | (w->socket.wants_write() ? POLLOUT : 0)), 0});
    for (auto& l : liars)
      fds.push_back({l->socket.fd(), short(POLLIN | (l->socket.wants_write() ? POLLOUT : 0)), 0});
    ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    std::size_t i = 0;
    std::vector<protocol::frame> frames;
    for (auto& c : clients) {
      auto events = fds[i++].revents;
      frames.clear();
      if ((events & (POLLIN | POLLHUP | POLLERR)) && !c->socket.read(frames))
        book.violation("the node closed a client's connection");
      c->receive(frames);
      if (events & POLLOUT)
        c->socket.flush();
    }
    for (auto& w : workers) {
      auto events = fds[i++].revents;
      frames.clear();
      if ((events & (POLLIN | POLLHUP | POLLERR)) && !w->socket.read(frames))
        book.violation("the node closed a worker's connection");
      w->receive(frames);
      if (events & POLLOUT)
        w->socket.flush();
    }
    for (auto& l : liars) {
      auto events = fds[i++].revents;
      frames.clear();
      if ((events & (POLLIN | POLLHUP | POLLERR)) && !l->socket.read(frames))
        book.violation("the node closed a lying worker's connection");
      l->receive(frames);
      if (events & POLLOUT)
        l->socket.flush();
    }
    auto now = clock::now();
    for (auto& w : workers)
      w->answer_due(now);
  }

  /// Kills a random worker; a new one connects after a short pause.
  void kill_worker() {
    auto it = workers.begin() + static_cast<long>(rng() % workers.size());
    (*it)->kill();
    workers.erase(it);
    restarts_.push_back(clock::now() + std::chrono::milliseconds{50 + rng() % 250});
    ++kills;
  }

  /// Drops a random client at once and connects a fresh one in its place.
  void drop_client() {
    auto it = clients.begin() + static_cast<long>(rng() % clients.size());
    (*it)->socket.close();
    clients.erase(it);
    add_client(1 + rng() % 4);
    ++drops;
  }

  /// Starts the workers whose restart is due (all of them with `all`).
  void restart_workers(bool all = false) {
    auto now = clock::now();
    for (auto it = restarts_.begin(); it != restarts_.end();) {
      if (all || *it <= now) {
        add_worker();
        it = restarts_.erase(it);
      } else {
        ++it;
      }
    }
  }

  /// Tasks the workers have not answered yet.
  std::size_t held() const {
    std::size_t n = 0;
    for (auto& w : workers)
      n += w->held();
    return n;
  }

  /// RUNs of the counted clients still waiting for their RESULT.
  std::size_t outstanding() const {
    std::size_t n = 0;
    for (auto& c : clients)
      if (c->counted)
        n += c->outstanding();
    return n;
  }

  /// Stops the node with SIGTERM; returns its exit code.
  std::optional<int> stop() {
    clients.clear();
    workers.clear();
    liars.clear();
    node_->signal(SIGTERM);
    return node_->wait();
  }

  /// The node's process id and its log so far.
  int pid() const { return node_->pid(); }
  std::string log() const { return node_->log(); }

  ledger book;                                       ///< what every peer saw and did
  std::vector<std::unique_ptr<soak_client>> clients; ///< connected clients
  std::vector<std::unique_ptr<soak_worker>> workers; ///< connected workers
  std::vector<std::unique_ptr<soak_worker>> liars;   ///< the lying worker, while one is on
  std::uint64_t kills = 0;                           ///< workers killed
  std::uint64_t drops = 0;                           ///< clients dropped
  std::mt19937_64 rng{20240611};                     ///< every random choice of the soak

private:
  temp_dir dir_;
  std::unique_ptr<child_process> node_;
  std::size_t worker_serial_ = 0;
  std::vector<clock::time_point> restarts_;
};

TEST(ChaosSoak, EveryRunIsAnsweredOnceAndTheNodeSettles) {
  soak s;
  ASSERT_TRUE(s.ready()) << s.log();
  auto duration = soak_duration();
  auto max_faults =
      std::max<std::uint64_t>(4, 3 * static_cast<std::uint64_t>(duration.count()) / 2);

  for (std::size_t i = 0; i < worker_count; ++i)
    s.add_worker();
  for (std::size_t i = 0; i < client_count; ++i)
    s.add_client(1 + i % 4);

  auto start = clock::now();
  auto warm_at = start + std::max<clock::duration>(1s, duration / 4);
  auto end = start + duration;
  auto next_fault = start + 500ms;
  auto next_liar = start;
  auto next_sample = start;
  std::uint64_t rss_warm = 0;
  std::uint64_t rss_peak = 0;
  std::size_t max_connections = 0;
  for (auto now = start; now < end; now = clock::now()) {
    for (auto& c : s.clients)
      c->generate(now);
    s.pump(2ms);
    s.restart_workers();
    if (now >= next_liar) {
      s.replace_liar();
      next_liar = now + 2s;
    }
    if (now >= next_fault) {
      if (s.rng() % 2 == 0 && s.kills < max_faults)
        s.kill_worker();
      else if (s.drops < max_faults)
        s.drop_client();
      next_fault = now + std::chrono::milliseconds{200 + s.rng() % 600};
    }
    if (now >= next_sample) {
      auto rss = rss_kib(s.pid());
      if (rss_warm == 0 && now >= warm_at)
        rss_warm = rss;
      rss_peak = std::max(rss_peak, rss);
      next_sample = now + 100ms;
    }
    max_connections = std::max(max_connections, s.clients.size() + s.workers.size());
  }

  // Drain: no new work; every open RUN must get its RESULT, every task its answer. The liar goes
  // first (its tasks end WORKER_WENT_AWAY, if their deadline did not come first): the probe
  // below counts the honest workers' slots only.
  for (auto& l : s.liars)
    l->kill();
  s.liars.clear();
  s.restart_workers(true);
  auto drain_deadline = clock::now() + 15s;
  while ((s.outstanding() > 0 || s.held() > 0) && clock::now() < drain_deadline)
    s.pump(5ms);
  auto settle = clock::now() + 300ms; // the node takes in the last RESULTs
  while (clock::now() < settle)
    s.pump(5ms);
  std::uint64_t lost = s.outstanding();

  // Probe: exactly the registered capacity of the remaining workers is usable, no more.
  std::size_t capacity = s.workers.size() * worker_capacity;
  s.add_client(0);
  auto& probe = *s.clients.back();
  probe.counted = false;
  for (std::size_t i = 0; i < capacity; ++i)
    probe.run("hold", false);
  auto probe_deadline = clock::now() + 5s;
  while (s.held() < capacity && probe.codes().empty() && clock::now() < probe_deadline)
    s.pump(5ms);
  auto held = s.held();
  auto refused_before_full = probe.codes();
  probe.run("hold", false);
  while (probe.codes().empty() && clock::now() < probe_deadline)
    s.pump(5ms);
  auto over_capacity = probe.codes();
  for (auto& w : s.workers)
    w->release_holds();
  while (probe.outstanding() > 0 && clock::now() < probe_deadline)
    s.pump(5ms);
  auto probe_codes = probe.codes();
  auto rss_end = rss_kib(s.pid());

  std::printf("chaos soak: %lld s, %zu clients and %zu workers (capacity %zu) at a time, "
              "%llu connections opened, at most %zu open\n",
              static_cast<long long>(duration.count()), client_count, worker_count, worker_capacity,
              static_cast<unsigned long long>(s.book.connections), max_connections);
  std::printf("  RUNs sent: %llu (%llu detached), tasks run by workers: %llu, CANCELs: %llu\n",
              static_cast<unsigned long long>(s.book.runs),
              static_cast<unsigned long long>(s.book.detached),
              static_cast<unsigned long long>(s.book.tasks_run),
              static_cast<unsigned long long>(s.book.cancels));
  std::printf("  faults injected: %llu worker kills (each restarted), %llu client drops\n",
              static_cast<unsigned long long>(s.kills), static_cast<unsigned long long>(s.drops));
  std::printf("  attacks: %llu repeated CANCELs, %llu lying REGISTERs refused, %llu tasks of the "
              "liars timed out\n",
              static_cast<unsigned long long>(s.book.cancel_repeats),
              static_cast<unsigned long long>(s.book.registers_refused),
              static_cast<unsigned long long>(s.book.timed_out));
  std::printf("  results by code:");
  for (auto& [rc, n] : s.book.results_by_code)
    std::printf(" %s %llu", rc.c_str(), static_cast<unsigned long long>(n));
  std::printf("\n  lost: %llu, violations: %llu\n", static_cast<unsigned long long>(lost),
              static_cast<unsigned long long>(s.book.violation_count));
  std::printf("  node RSS: %llu KiB after warm-up, %llu KiB peak, %llu KiB at the end%s\n",
              static_cast<unsigned long long>(rss_warm), static_cast<unsigned long long>(rss_peak),
              static_cast<unsigned long long>(rss_end),
              rss_is_meaningful ? "" : " (not checked under a sanitizer)");
  std::printf("  probe: %zu of %zu slots taken, then %s\n", held, capacity,
              over_capacity.count("NO_CAPACITY") ? "NO_CAPACITY" : "no refusal");
  std::fflush(stdout);

  for (auto& v : s.book.violations)
    ADD_FAILURE() << v;
  EXPECT_EQ(s.book.violation_count, 0u);
  EXPECT_EQ(lost, 0u) << "RUNs of connected clients without a RESULT";
  // The soak must have done what it claims, or it proves nothing.
  EXPECT_GT(s.book.results_by_code["OK"], 100u);
  EXPECT_GT(s.kills, 0u);
  EXPECT_GT(s.drops, 0u);
  EXPECT_GT(s.book.cancels, 0u);
  EXPECT_GT(s.book.detached, 0u);
  EXPECT_GT(s.book.cancel_repeats, 0u);
  EXPECT_GT(s.book.registers_refused, 0u);
  EXPECT_GT(s.book.timed_out, 0u);
  for (auto& cookie : s.book.refused)
    EXPECT_EQ(s.book.delivered_to.count(cookie), 0u) << "refused, yet run: " << cookie;

  EXPECT_TRUE(refused_before_full.empty()) << "a probe RUN was refused below capacity";
  EXPECT_EQ(held, capacity) << "slots of the remaining workers did not come back";
  EXPECT_EQ(over_capacity.count("NO_CAPACITY"), 1u) << "more slots than registered";
  EXPECT_EQ(probe_codes.count("OK") ? probe_codes.at("OK") : 0u, capacity);

  ASSERT_GT(rss_warm, 0u);
  if (rss_is_meaningful) {
    EXPECT_LT(rss_end, 2 * rss_warm + 16 * 1024) << "the node's memory did not settle";
  }

  EXPECT_EQ(s.stop(), 0) << s.log();
}

} // namespace
} // namespace rcbroker::test_support::soak
