// The admin endpoint against slow peers, over real sockets on 127.0.0.1: a request must arrive
// whole within its deadline, and when slow peers hold every connection the server allows, a new
// connection takes the place of the one that has waited longest, so that /healthz and /metrics
// keep answering through a slow-loris attack.

#include "http_helpers.hpp"
#include "rcbroker/admin/http_server.hpp"
#include "status_client.hpp"
#include "test_node.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <gtest/gtest.h>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace rcbroker;
using namespace rcbroker::test_support;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

void with_admin(node::settings& s) {
  s.admin = "127.0.0.1:0";
}

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

/// Whether the server closed `fd` (end of stream or reset) within `timeout_ms`; what it sent
/// first is appended to `got`.
bool closed_within(int fd, int timeout_ms, std::string* got = nullptr) {
  auto deadline = clock_type::now() + std::chrono::milliseconds(timeout_ms);
  char chunk[4096];
  while (clock_type::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0)
      continue;
    auto n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
      return true;
    if (n > 0 && got)
      got->append(chunk, static_cast<std::size_t>(n));
  }
  return false;
}

/// The start of a request that never ends: a slow peer sends it one byte at a time, and the
/// header it ends in goes on forever.
char slow_byte(std::size_t i) {
  static const std::string start = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  return i < start.size() ? start[i] : 'a';
}

/// Slow-loris peers: `count` sockets, each sending one byte every 200-500 ms, from one thread.
/// A socket the server closes is opened again at its next turn, as an attacker would.
class slow_peers {
public:
  slow_peers(std::uint16_t port, std::size_t count) : port_(port), peers_(count) {
    std::mt19937 random{42};
    std::uniform_int_distribution<int> period(200, 500);
    auto now = clock_type::now();
    for (auto& p : peers_) {
      p.period = std::chrono::milliseconds{period(random)};
      p.next = now + std::chrono::milliseconds{period(random) % 200};
      open(p);
    }
    thread_ = std::thread{[this] { run(); }};
  }

  ~slow_peers() {
    stop_ = true;
    thread_.join();
    for (auto& p : peers_)
      if (p.fd >= 0)
        ::close(p.fd);
  }

  /// Sockets open now (connected, not yet seen closed by the server).
  std::size_t open_now() const { return open_.load(); }

  /// Connections the server closed so far.
  std::size_t closed_by_server() const { return closed_.load(); }

  /// Bytes the server answered to the slow peers (it must answer none).
  std::size_t answered_bytes() const { return answered_.load(); }

private:
  struct peer {
    int fd = -1;
    bool closed = false;
    std::size_t sent = 0;
    std::chrono::milliseconds period{};
    clock_type::time_point next;
  };

  void open(peer& p) {
    p.fd = connect_to(port_);
    p.closed = p.fd < 0;
    p.sent = 0;
    if (p.fd >= 0)
      ++open_;
  }

  void run() {
    std::vector<pollfd> polls;
    std::vector<peer*> polled;
    char chunk[1024];
    while (!stop_) {
      polls.clear();
      polled.clear();
      for (auto& p : peers_)
        if (p.fd >= 0 && !p.closed) {
          polls.push_back(pollfd{p.fd, POLLIN, 0});
          polled.push_back(&p);
        }
      ::poll(polls.data(), polls.size(), 10);
      for (std::size_t i = 0; i < polls.size(); ++i) {
        if (polls[i].revents == 0)
          continue;
        auto n = ::recv(polls[i].fd, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n > 0) {
          answered_ += static_cast<std::size_t>(n);
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          polled[i]->closed = true;
          --open_;
          ++closed_;
        }
      }
      auto now = clock_type::now();
      for (auto& p : peers_) {
        if (now < p.next)
          continue;
        p.next = now + p.period;
        if (p.closed) {
          if (p.fd >= 0)
            ::close(p.fd);
          open(p);
          continue;
        }
        char byte = slow_byte(p.sent++);
        if (::send(p.fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
          p.closed = true;
          --open_;
          ++closed_;
        }
      }
    }
  }

  std::uint16_t port_;
  std::vector<peer> peers_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> closed_{0};
  std::atomic<std::size_t> answered_{0};
};

/// An http_server of its own on 127.0.0.1 whose handler holds every request until the test
/// releases it.
class held_server {
public:
  explicit held_server(admin::http_server::limits lim)
      : server_(std::make_shared<admin::http_server>(ioc_, admin::address{"127.0.0.1", 0}, lim)) {
    server_->start([this](std::string_view path, admin::respond_fn respond) {
      std::lock_guard<std::mutex> lock{mutex_};
      held_.push_back({std::string{path}, std::move(respond)});
      changed_.notify_all();
    });
    thread_ = std::thread{[this] { ioc_.run(); }};
  }

  ~held_server() {
    release();
    server_->stop();
    guard_.reset();
    thread_.join();
  }

  std::uint16_t port() const { return server_->port(); }

  /// Waits until `n` requests are held (true) or 5 s pass (false).
  bool wait_for_held(std::size_t n) {
    std::unique_lock<std::mutex> lock{mutex_};
    return changed_.wait_for(lock, 5s, [&] { return held_.size() >= n; });
  }

  /// Answers every held request with 200 and its path.
  void release() {
    std::vector<std::pair<std::string, admin::respond_fn>> held;
    {
      std::lock_guard<std::mutex> lock{mutex_};
      held.swap(held_);
    }
    for (auto& [path, respond] : held)
      respond(admin::http_response{200, "text/plain", path});
  }

private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      ioc_.get_executor()};
  std::shared_ptr<admin::http_server> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::pair<std::string, admin::respond_fn>> held_;
};

const std::string healthz_request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Sends `bytes` whole on `fd`.
void send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    sent += static_cast<std::size_t>(n);
  }
}

struct latencies {
  std::vector<double> ms; // of the requests answered 200
  std::size_t asked = 0;
  std::size_t ok_in_time = 0; // 200 within the bound

  double percentile(double p) {
    if (ms.empty())
      return 0;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * ms.size()))];
  }
};

} // namespace

TEST(AdminHttpSlowPeers, SlowPeerIsClosedAtTheRequestDeadline) {
  test_node node{with_admin};
  auto port = port_of(node.get().admin_url());
  auto deadline_ms = static_cast<double>(admin::http_server::limits{}.request_timeout.count());

  // A byte every 200 ms: every read completes well within the deadline, and none extends it.
  int fd = connect_to(port);
  ASSERT_GE(fd, 0);
  auto start = clock_type::now();
  std::string got;
  bool closed = false;
  std::size_t sent = 0;
  while (!closed && ms_since(start) < deadline_ms + 2000) {
    char byte = slow_byte(sent);
    if (::send(fd, &byte, 1, MSG_NOSIGNAL) == 1)
      ++sent;
    closed = closed_within(fd, 200, &got);
  }
  auto after_ms = ms_since(start);
  ::close(fd);
  ASSERT_TRUE(closed) << "a slow peer still open after " << after_ms << " ms";
  EXPECT_GE(after_ms, deadline_ms - 100);
  EXPECT_LE(after_ms, deadline_ms + 1000);
  EXPECT_GE(sent, 5u);
  EXPECT_EQ(got, "") << "a request that never ended got an answer";
  std::printf("slow peer: %zu bytes sent, closed after %.0f ms (deadline %.0f ms)\n", sent,
              after_ms, deadline_ms);

  // A peer that says nothing is closed at the same deadline.
  fd = connect_to(port);
  ASSERT_GE(fd, 0);
  start = clock_type::now();
  EXPECT_TRUE(closed_within(fd, static_cast<int>(deadline_ms) + 1000));
  EXPECT_GE(ms_since(start), deadline_ms - 100);
  ::close(fd);
}

TEST(AdminHttpSlowPeers, HealthzAndMetricsAnswerWhileSlowPeersHoldEveryConnection) {
  test_node node{with_admin};
  auto url = node.get().admin_url();
  auto port = port_of(url);
  auto budget = admin::http_server::limits{}.max_connections;

  auto attack_start = clock_type::now();
  slow_peers attack{port, budget + 50};
  // Every slow peer connected (the kernel completes connections the server has not accepted
  // yet); a little time for the server to accept them and fill its budget.
  ASSERT_GE(attack.open_now(), budget);
  std::this_thread::sleep_for(300ms);

  latencies healthz, metrics;
  auto probe_start = clock_type::now();
  for (int i = 0; ms_since(probe_start) < 4000; ++i) {
    auto& figures = i % 2 == 0 ? healthz : metrics;
    auto asked = clock_type::now();
    auto reply = rcsubmit::http_get(url, i % 2 == 0 ? "/healthz" : "/metrics", 1000ms);
    auto took = ms_since(asked);
    ++figures.asked;
    if (reply.status == 200) {
      figures.ms.push_back(took);
      if (took <= 1000)
        ++figures.ok_in_time;
    }
    std::this_thread::sleep_for(20ms);
  }
  auto open_at_end = attack.open_now();
  auto closed = attack.closed_by_server();
  auto attack_ms = ms_since(attack_start);

  std::printf("%zu slow peers (budget %zu) over %.1f s: %zu connections closed by the server, "
              "%zu open at the end\n",
              budget + 50, budget, attack_ms / 1000, closed, open_at_end);
  for (auto [name, f] : {std::pair{"/healthz", &healthz}, std::pair{"/metrics", &metrics}})
    std::printf("%s: %zu of %zu answered 200 within 1 s; median %.1f ms, p95 %.1f ms, max %.1f "
                "ms\n",
                name, f->ok_in_time, f->asked, f->percentile(0.5), f->percentile(0.95),
                f->percentile(1.0));

  ASSERT_GE(healthz.asked, 20u);
  ASSERT_GE(metrics.asked, 20u);
  EXPECT_GE(healthz.ok_in_time * 100, healthz.asked * 95);
  EXPECT_GE(metrics.ok_in_time * 100, metrics.asked * 95);
  // The server made room: at least the peers over its budget were closed, and it answered none.
  EXPECT_GE(closed, 50u);
  EXPECT_EQ(attack.answered_bytes(), 0u);
}

TEST(AdminHttpBudget, ANewConnectionTakesThePlaceOfTheLongestWaiting) {
  admin::http_server::limits lim;
  lim.max_connections = 4;
  lim.request_timeout = 30s; // no deadline in the way: only the budget closes connections
  held_server server{lim};

  std::vector<int> silent;
  for (int i = 0; i < 4; ++i) {
    silent.push_back(connect_to(server.port()));
    ASSERT_GE(silent.back(), 0);
    std::this_thread::sleep_for(20ms); // accepted in this order
  }
  EXPECT_FALSE(closed_within(silent[0], 100));

  // The budget is full of peers that said nothing: a probe is answered, in the first one's place.
  int probe = connect_to(server.port());
  ASSERT_GE(probe, 0);
  send_all(probe, healthz_request);
  ASSERT_TRUE(server.wait_for_held(1));
  server.release();
  std::string reply;
  EXPECT_TRUE(closed_within(probe, 2000, &reply));
  EXPECT_EQ(status_of(reply), 200u) << reply;
  ::close(probe);
  EXPECT_TRUE(closed_within(silent[0], 1000)) << "the longest waiting connection must go";
  for (int i = 1; i < 4; ++i)
    EXPECT_FALSE(closed_within(silent[i], 50)) << "connection " << i << " was closed";

  // Three silent peers are left: one more connection fills the budget, the next one takes the
  // place of the second silent peer, which now has waited longest.
  int filler = connect_to(server.port());
  ASSERT_GE(filler, 0);
  EXPECT_FALSE(closed_within(silent[1], 100));
  probe = connect_to(server.port());
  ASSERT_GE(probe, 0);
  EXPECT_TRUE(closed_within(silent[1], 1000));
  EXPECT_FALSE(closed_within(silent[2], 50));
  EXPECT_FALSE(closed_within(filler, 50));
  ::close(probe);
  ::close(filler);
  for (int fd : silent)
    ::close(fd);
}

TEST(AdminHttpBudget, WhenEveryConnectionIsBeingAnsweredANewOneIsClosed) {
  admin::http_server::limits lim;
  lim.max_connections = 2;
  held_server server{lim};

  int a = connect_to(server.port());
  int b = connect_to(server.port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  send_all(a, healthz_request);
  send_all(b, healthz_request);
  ASSERT_TRUE(server.wait_for_held(2));

  // Both connections are being answered: a third has no place and is closed unanswered.
  int c = connect_to(server.port());
  ASSERT_GE(c, 0);
  std::string got;
  EXPECT_TRUE(closed_within(c, 1000, &got));
  EXPECT_EQ(got, "");
  ::close(c);

  server.release();
  std::string reply_a, reply_b;
  EXPECT_TRUE(closed_within(a, 2000, &reply_a));
  EXPECT_TRUE(closed_within(b, 2000, &reply_b));
  EXPECT_EQ(status_of(reply_a), 200u);
  EXPECT_EQ(status_of(reply_b), 200u);
  ::close(a);
  ::close(b);

  // With room again, a new connection is served.
  int d = connect_to(server.port());
  ASSERT_GE(d, 0);
  send_all(d, healthz_request);
  ASSERT_TRUE(server.wait_for_held(1));
  server.release();
  std::string reply_d;
  EXPECT_TRUE(closed_within(d, 2000, &reply_d));
  EXPECT_EQ(status_of(reply_d), 200u) << reply_d;
  ::close(d);
}
