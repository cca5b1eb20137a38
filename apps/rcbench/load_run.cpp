#include "load_run.hpp"

#include "bench_client.hpp"
#include "bench_worker.hpp"
#include "direct_listener.hpp"
#include "net.hpp"
#include "process_stats.hpp"
#include "rcbroker/cli/exit_code.hpp"
#include "rcbroker/protocol/packet.hpp"
#include "readiness.hpp"
#include "run_state.hpp"
#include "summary.hpp"
#include "wire.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

namespace rcbench {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using rcbroker::transport::endpoint;

namespace {

/// The io_contexts and their threads; stop() (or the destructor) stops and joins them.
class io_pool {
public:
  explicit io_pool(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      stats_.push_back(std::make_unique<thread_stats>());
    }
  }

  ~io_pool() { stop(); }

  asio::io_context& context(std::size_t i) { return *contexts_[i % contexts_.size()]; }
  thread_stats& stats(std::size_t i) { return *stats_[i % stats_.size()]; }
  std::size_t size() const noexcept { return contexts_.size(); }

  void run() {
    for (auto& c : contexts_) {
      guards_.push_back(asio::make_work_guard(*c));
      threads_.emplace_back([&c] { c->run(); });
    }
  }

  void stop() {
    for (auto& c : contexts_)
      c->stop();
    for (auto& t : threads_)
      t.join();
    threads_.clear();
    guards_.clear();
  }

  std::int64_t in_flight() const {
    std::int64_t n = 0;
    for (auto& s : stats_)
      n += s->in_flight.get();
    return n;
  }
  std::int64_t ok() const {
    std::int64_t n = 0;
    for (auto& s : stats_)
      n += s->ok.get();
    return n;
  }
  std::int64_t errors() const {
    std::int64_t n = 0;
    for (auto& s : stats_)
      n += s->errors.get();
    return n;
  }
  std::int64_t measured(std::size_t rc) const {
    std::int64_t n = 0;
    for (auto& s : stats_)
      n += s->measured_rc[rc].get();
    return n;
  }

private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<std::unique_ptr<thread_stats>> stats_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

/// Removes the direct mode's socket folder on every way out.
struct folder_guard {
  std::string path;
  ~folder_guard() {
    if (!path.empty())
      remove_folder(path);
  }
};

constexpr auto ok_rc = static_cast<std::size_t>(rcbroker::protocol::result_code::ok);

const char* phase_name(phase p) {
  switch (p) {
  case phase::warmup:
    return "warmup";
  case phase::measure:
    return "measure";
  default:
    return "drain";
  }
}

} // namespace

int run_load(const options& o) {
  auto client_ep = parse_url(o.client_endpoint, rcbroker::transport::default_client_port);
  auto worker_ep = parse_url(o.worker_endpoint, rcbroker::transport::default_worker_port);
  if (o.broker_pid != 0 && !process_cpu_seconds(o.broker_pid)) {
    std::cerr << "rcbench: cannot read /proc/" << o.broker_pid << "/stat\n";
    return 1;
  }
  auto delay = std::chrono::milliseconds{o.delay_ms};
  auto variables = make_variables(o.payload);
  auto run = run_template(variables, o.detach);
  // The readiness probe waits for RESULTs: its RUNs are never detached.
  auto probe_run = o.detach ? run_template(variables, false) : run;
  auto result = result_template(variables);
  std::random_device seed;
  cookie_format cookies{(std::uint64_t{seed()} << 32) | seed()};
  run_control control;
  control.capped = o.max_tasks > 0;
  control.budget = static_cast<std::int64_t>(o.max_tasks);

  std::shared_ptr<asio::ssl::context> tls;
  try {
    tls = client_tls_context({client_ep, worker_ep}, {o.tls_ca, o.tls_cert, o.tls_key});
  } catch (const std::runtime_error& e) {
    std::cerr << "rcbench: " << e.what() << "\n";
    return 1;
  }
  // Declared in this order so that the threads stop before the connections go, and the
  // connections before their io_contexts.
  folder_guard folder;
  io_pool pool{o.threads};
  std::vector<std::unique_ptr<bench_worker>> workers;
  std::vector<std::unique_ptr<direct_listener>> listeners;
  std::vector<endpoint> direct_eps;
  std::vector<std::unique_ptr<bench_client>> clients;
  struct stop_first {
    io_pool& pool;
    ~stop_first() { pool.stop(); }
  } stop_threads{pool};

  try {
    if (o.direct) {
      if (client_ep.type == endpoint::kind::unix_socket)
        folder.path = make_socket_folder();
      for (unsigned j = 0; j < o.workers; ++j) {
        endpoint ep = client_ep;
        if (ep.type == endpoint::kind::unix_socket)
          ep.path = folder.path + "/w" + std::to_string(j) + ".sock";
        unsigned expected = o.clients / o.workers + (j < o.clients % o.workers ? 1 : 0);
        listeners.push_back(std::make_unique<direct_listener>(pool.context(j), ep, expected, result,
                                                              delay, pool.stats(j)));
        listeners.back()->start();
        direct_eps.push_back(ep);
      }
    } else {
      // A detached RUN's client learns from the worker that has it (on the client's thread).
      bench_worker::detached_sink on_detached;
      if (o.detach)
        on_detached = [&clients, &cookies, &pool](const rcbroker::protocol::cookie& c) {
          auto origin = cookies.read(c);
          if (!origin || origin->client >= clients.size())
            return;
          auto* client = clients[origin->client].get();
          auto at = clock::now();
          asio::post(pool.context(origin->client), [client, slot = origin->slot, seq = origin->seq,
                                                    at] { client->reached_worker(slot, seq, at); });
        };
      for (unsigned j = 0; j < o.workers; ++j) {
        workers.push_back(
            std::make_unique<bench_worker>(connect_to(pool.context(j), worker_ep, tls.get()),
                                           o.capacity, result, delay, pool.stats(j), on_detached));
        workers.back()->start();
      }
    }
    pool.run();
    if (!o.direct) {
      std::vector<const bench_worker*> registered;
      for (auto& w : workers)
        registered.push_back(w.get());
      auto limit = std::chrono::milliseconds{5000} + 4 * delay;
      if (!wait_until_routable(client_ep, tls.get(), registered, o.capacity, cookies, probe_run,
                               limit))
        std::cerr << "rcbench: warning: the node did not route to every worker within "
                  << limit.count() << " ms; starting anyway\n";
    }
    for (unsigned i = 0; i < o.clients; ++i) {
      const auto& target = o.direct ? direct_eps[i % o.workers] : client_ep;
      clients.push_back(std::make_unique<bench_client>(
          connect_to(pool.context(i), target, tls.get()), static_cast<std::uint16_t>(i), o.depth,
          run, cookies, control, pool.stats(i)));
    }
  } catch (const std::runtime_error& e) {
    std::cerr << "rcbench: " << e.what() << "\n";
    return rcbroker::cli::exit_code::unavailable;
  }

  auto start = clock::now();
  auto measure_start = start;
  auto measure_end = start;
  std::optional<double> cpu_start;
  std::optional<double> cpu_end;
  double own_start = own_cpu_seconds();
  auto begin_measure = [&](clock::time_point now) {
    measure_start = now;
    if (o.broker_pid != 0)
      cpu_start = process_cpu_seconds(o.broker_pid);
    own_start = own_cpu_seconds();
    control.current = phase::measure;
  };
  if (o.warmup_s <= 0)
    begin_measure(start);
  control.live_clients = o.clients;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto* c = clients[i].get();
    asio::post(pool.context(i), [c] { c->start(); });
  }

  auto warmup =
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>{o.warmup_s});
  auto duration =
      std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>{o.duration_s});
  auto next_progress = start + std::chrono::seconds{1};
  auto last_progress = start;
  auto last_ok = pool.ok();
  auto seconds_since = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  std::string why_ended = "duration";
  for (;;) {
    auto now = clock::now();
    auto p = control.current.load();
    if (now >= next_progress) {
      auto ok = pool.ok();
      auto rate = static_cast<double>(ok - last_ok) / seconds_since(last_progress, now);
      char line[200];
      auto measured = static_cast<double>(pool.measured(ok_rc));
      std::snprintf(
          line, sizeof line,
          "rcbench: [%-7s %5.1f s] %.0f tasks/s, %.0f tasks/s measured so far, in "
          "flight %lld, errors %lld\n",
          phase_name(p), seconds_since(start, now), rate,
          p == phase::measure && now > measure_start ? measured / seconds_since(measure_start, now)
                                                     : 0.0,
          static_cast<long long>(pool.in_flight()), static_cast<long long>(pool.errors()));
      std::cerr << line;
      last_ok = ok;
      last_progress = now;
      next_progress += std::chrono::seconds{1};
    }
    if (p == phase::warmup && now >= start + warmup) {
      begin_measure(now);
      p = phase::measure;
    }
    if (p == phase::measure) {
      bool done = now >= measure_start + duration;
      if (!done && control.capped && control.budget.load() <= 0 && pool.in_flight() == 0) {
        done = true;
        why_ended = "max-tasks";
      }
      if (!done && control.live_clients.load() == 0) {
        done = true;
        why_ended = "every client connection failed";
      }
      if (done) {
        measure_end = now;
        if (o.broker_pid != 0)
          cpu_end = process_cpu_seconds(o.broker_pid);
        control.current = phase::drain;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  double own_cpu = own_cpu_seconds() - own_start;
  auto drain_until = clock::now() + std::chrono::seconds{2} + 2 * delay;
  while (pool.in_flight() > 0 && clock::now() < drain_until)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  std::optional<std::uint64_t> rss;
  if (o.broker_pid != 0)
    rss = process_rss_kib(o.broker_pid);
  pool.stop();

  load_summary s;
  s.mode = o.direct ? "direct" : o.detach ? "node-detached" : "node";
  s.endpoint = o.direct ? direct_eps.front().to_string() + (o.workers > 1 ? " (and more)" : "")
                        : client_ep.to_string();
  s.seconds = seconds_since(measure_start, measure_end);
  latency_histogram all;
  for (std::size_t t = 0; t < pool.size(); ++t)
    all.merge(pool.stats(t).measured_latency);
  for (std::size_t rc = 0; rc < rc_slots; ++rc)
    s.results[rc] = static_cast<std::uint64_t>(pool.measured(rc));
  s.tasks = s.results[ok_rc];
  s.errors = static_cast<std::uint64_t>(pool.errors());
  s.p50_us = static_cast<double>(all.quantile(0.50)) / 1000.0;
  s.p90_us = static_cast<double>(all.quantile(0.90)) / 1000.0;
  s.p99_us = static_cast<double>(all.quantile(0.99)) / 1000.0;
  s.max_us = static_cast<double>(all.max()) / 1000.0;
  if (cpu_start && cpu_end)
    s.broker_cpu_s = *cpu_end - *cpu_start;
  s.broker_rss_kib = rss;
  s.bench_cpu_s = own_cpu;
  std::cout << (o.json ? to_json(o, s) : to_text(o, s)) << std::flush;
  if (why_ended != "duration")
    std::cerr << "rcbench: the measured window ended early: " << why_ended << "\n";
  if (s.tasks == 0) {
    std::cerr << "rcbench: no task completed in the measured window\n";
    return 1;
  }
  return 0;
}

} // namespace rcbench
