#include "idle_run.hpp"

#include "net.hpp"
#include "process_stats.hpp"
#include "rcbroker/cli/exit_code.hpp"
#include "rcbroker/protocol/packet_writer.hpp"
#include "summary.hpp"
#include "wire.hpp"

#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

namespace rcbench {

namespace {

using clock = std::chrono::steady_clock;

// Waits until the node's RSS stops moving after the connections opened (it allocates as it
// accepts): two equal readings 200 ms apart, at least 1 s and at most 5 s.
std::uint64_t settled_rss(int pid) {
  auto start = clock::now();
  auto last = process_rss_kib(pid).value_or(0);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    auto now_rss = process_rss_kib(pid).value_or(0);
    auto waited = clock::now() - start;
    if ((now_rss == last && waited >= std::chrono::seconds{1}) || waited >= std::chrono::seconds{5})
      return now_rss;
    last = now_rss;
  }
}

// Connections the node closed meanwhile.
unsigned closed_count(std::vector<bench_socket>& sockets) {
  unsigned closed = 0;
  for (auto& s : sockets)
    closed += s.closed_by_peer() ? 1 : 0;
  return closed;
}

} // namespace

int run_idle(const options& o) {
  auto client_ep = parse_url(o.client_endpoint, rcbroker::transport::default_client_port);
  auto worker_ep = parse_url(o.worker_endpoint, rcbroker::transport::default_worker_port);
  auto pid = o.broker_pid;
  idle_summary s;
  s.clients = o.idle_clients;
  s.workers = o.idle_workers;
  s.hold_s = o.hold_s;
  auto rss_before = process_rss_kib(pid);
  if (!rss_before || !process_cpu_seconds(pid)) {
    std::cerr << "rcbench: cannot read /proc/" << pid << "/status and /proc/" << pid << "/stat\n";
    return 1;
  }
  s.rss_before_kib = *rss_before;
  std::cerr << "rcbench: node RSS before: " << s.rss_before_kib << " KiB\n";

  // Never run: the connections only sit there.
  boost::asio::io_context ioc{1};
  std::shared_ptr<boost::asio::ssl::context> tls; // outlives the sessions that use it
  std::vector<bench_socket> sockets;
  sockets.reserve(o.idle_clients + o.idle_workers);
  std::string reg;
  append_frame(reg, rcbroker::protocol::make_register(1));
  try {
    tls = client_tls_context({client_ep, worker_ep}, {o.tls_ca, o.tls_cert, o.tls_key});
    for (unsigned i = 0; i < o.idle_workers; ++i) {
      sockets.push_back(connect_to(ioc, worker_ep, tls.get()));
      boost::asio::write(sockets.back(), boost::asio::buffer(reg));
    }
    for (unsigned i = 0; i < o.idle_clients; ++i)
      sockets.push_back(connect_to(ioc, client_ep, tls.get()));
  } catch (const std::exception& e) {
    std::cerr << "rcbench: after " << sockets.size() << " connections: " << e.what() << "\n";
    return rcbroker::cli::exit_code::unavailable;
  }
  s.rss_after_kib = settled_rss(pid);
  std::cerr << "rcbench: " << sockets.size() << " connections open, node RSS " << s.rss_after_kib
            << " KiB\n";

  auto cpu_start = process_cpu_seconds(pid).value_or(0);
  auto start = clock::now();
  auto hold = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>{o.hold_s});
  auto next = start + std::chrono::seconds{1};
  while (clock::now() < start + hold) {
    std::this_thread::sleep_until(std::min(next, start + hold));
    if (clock::now() >= next) {
      char line[160];
      std::snprintf(line, sizeof line, "rcbench: [hold %5.1f s] node RSS %llu KiB, CPU %.2f s\n",
                    std::chrono::duration<double>(clock::now() - start).count(),
                    static_cast<unsigned long long>(process_rss_kib(pid).value_or(0)),
                    process_cpu_seconds(pid).value_or(0) - cpu_start);
      std::cerr << line;
      next += std::chrono::seconds{1};
    }
  }
  s.broker_cpu_s = process_cpu_seconds(pid).value_or(0) - cpu_start;
  s.rss_end_kib = process_rss_kib(pid).value_or(0);
  auto closed = closed_count(sockets);
  std::cout << (o.json ? to_json(s) : to_text(s)) << std::flush;
  if (closed > 0) {
    std::cerr << "rcbench: the node closed " << closed << " of the idle connections\n";
    return 1;
  }
  return 0;
}

} // namespace rcbench
