#include "soak_peers.hpp"

#include "raw_peer.hpp"
#include "rcbroker/protocol/packet.hpp"
#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace rcbroker::test_support::soak {

namespace {

constexpr std::size_t max_violations_kept = 20;

// Time between a NO_CAPACITY and the client's next RUN, so that a full node is not hammered.
constexpr auto refused_pause = std::chrono::milliseconds{10};

std::string cancelled_result(const std::string& cookie) {
  return R"({"packet_type":"RESULT","cookie":")" + cookie +
         R"(","capacity":null,"pipeline":null,"variables":null,"detach":null,)"
         R"("rc":"EXCEPTION","error":"Cancelled","stacktrace":null,"result":null})";
}

} // namespace

void ledger::violation(std::string what) {
  ++violation_count;
  if (violations.size() < max_violations_kept)
    violations.push_back(std::move(what));
}

// -- framed_socket ----------------------------------------------------------------------------

framed_socket::framed_socket(const std::string& path) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    throw std::runtime_error("socket failed");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    auto error = std::string{std::strerror(errno)};
    ::close(fd_);
    throw std::runtime_error("cannot connect to " + path + ": " + error);
  }
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

framed_socket::~framed_socket() {
  close();
}

void framed_socket::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  out_.clear();
}

void framed_socket::send(std::string_view payload) {
  out_ += protocol::encode_frame(payload);
  flush();
}

bool framed_socket::flush() {
  std::size_t done = 0;
  while (fd_ >= 0 && done < out_.size()) {
    auto n = ::send(fd_, out_.data() + done, out_.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    out_.erase(0, done);
    return false;
  }
  out_.erase(0, done);
  return fd_ >= 0;
}

bool framed_socket::read(std::vector<protocol::frame>& out) {
  char chunk[65536];
  for (;;) {
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      if (decoder_.feed(chunk, static_cast<std::size_t>(n), out) !=
          protocol::frame_decoder::status::ok)
        return false;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

// -- soak_client ------------------------------------------------------------------------------

soak_client::soak_client(const std::string& path, ledger& book, std::uint64_t seed,
                         std::size_t in_flight)
    : socket(path), book_(book), rng_(seed), in_flight_(in_flight) {
  ++book_.connections;
}

std::string soak_client::run(const std::string& pipeline, bool detach) {
  auto cookie = new_cookie();
  run_state state;
  state.detach = detach;
  state.sent = clock::now();
  runs_.emplace(cookie, state);
  if (!detach) {
    ++outstanding_;
    open_.push_back(cookie);
  }
  if (counted) {
    ++book_.runs;
    book_.detached += detach ? 1 : 0;
  }
  socket.send(original_run(cookie, pipeline, R"({"n": 1})", detach));
  return cookie;
}

void soak_client::generate(clock::time_point now) {
  for (auto& cookie : open_) {
    auto& state = runs_.at(cookie);
    if (state.cancel_at && !state.cancelled && now >= *state.cancel_at) {
      state.cancelled = true;
      ++book_.cancels;
      // A third of the cancels come as a flood of the same CANCEL: only one may reach the worker.
      auto copies = rng_() % 3 == 0 ? 2 + rng_() % 15 : 1;
      book_.cancel_repeats += copies - 1;
      for (std::uint64_t i = 0; i < copies; ++i)
        socket.send(original_cancel(cookie));
    }
  }
  if (now < pause_until_)
    return;
  while (outstanding_ < in_flight_) {
    // One RUN in twenty is detached: it holds a slot but never gets an OK.
    bool detach = rng_() % 20 == 0;
    auto cookie = run("echo", detach);
    // One in ten of the others is cancelled a moment later; no other RUN ever is, so a RUN
    // left unanswered stays open and counts as lost.
    if (!detach && rng_() % 10 == 0)
      runs_.at(cookie).cancel_at = now + std::chrono::milliseconds{rng_() % 6};
  }
}

void soak_client::receive(const std::vector<protocol::frame>& frames) {
  for (auto& f : frames) {
    auto read = protocol::read_packet(f);
    if (!read.ok() || read.fields.type != protocol::packet_type::result || !read.fields.cookie ||
        !read.fields.rc) {
      book_.violation("a client got a frame that is not a RESULT: " + std::string{f.payload()});
      continue;
    }
    auto cookie = read.fields.cookie->to_string();
    auto rc = std::string{protocol::to_string(*read.fields.rc)};
    ++codes_[rc];
    if (counted)
      ++book_.results_by_code[rc];
    auto it = runs_.find(cookie);
    if (it == runs_.end()) {
      book_.violation("a client got a RESULT for a cookie it never sent: " + cookie);
      continue;
    }
    check_result(cookie, it->second, rc, f.payload());
  }
}

void soak_client::check_result(const std::string& cookie, run_state& run, const std::string& rc,
                               std::string_view payload) {
  if (rc == "COOKIE_NOT_FOUND") {
    // A CANCEL that crossed the RUN's RESULT on the wire: the answer to the CANCEL.
    if (!run.cancelled)
      book_.violation("COOKIE_NOT_FOUND for a RUN never cancelled: " + cookie);
    ++book_.not_found;
    return;
  }
  if (run.resolved) {
    book_.violation("a second RESULT (" + rc + ") for " + cookie);
    return;
  }
  run.resolved = true;
  if (rc == "NO_CAPACITY")
    book_.refused.insert(cookie);
  if (run.detach) {
    if (rc != "NO_CAPACITY")
      book_.violation("a detached RUN got " + rc + ": " + cookie);
    return;
  }
  --outstanding_;
  open_.erase(std::find(open_.begin(), open_.end(), cookie));
  if (rc == "OK") {
    auto sent = book_.answers.find(cookie);
    if (sent == book_.answers.end() || sent->second != payload)
      book_.violation("an OK that no worker sent as such: " + std::string{payload});
  } else if (rc == "EXCEPTION") {
    auto sent = book_.answers.find(cookie);
    bool from_worker = sent != book_.answers.end() && sent->second == payload;
    bool from_broker =
        payload == protocol::make_broker_result(protocol::cookie::parse(cookie),
                                                protocol::result_code::exception, "Cancelled")
                       .payload();
    auto worker = book_.delivered_to.find(cookie);
    bool on_liar = worker != book_.delivered_to.end() && book_.liars.count(worker->second) > 0;
    bool timed_out =
        payload.find(R"("error":"Timed out: no RESULT within )") != std::string_view::npos;
    if (timed_out && on_liar) {
      ++book_.timed_out; // the liar never answers: the node's deadline did
    } else if (timed_out) {
      book_.violation("a task of an honest worker timed out: " + std::string{payload});
    } else if (!run.cancelled || !(from_worker || from_broker)) {
      book_.violation("an EXCEPTION for a RUN not cancelled, or not Cancelled: " +
                      std::string{payload});
    }
  } else if (rc == "WORKER_WENT_AWAY") {
    // A RUN may die unread in a killed worker's socket: sent just before the kill, or just after
    // it, before the node saw the socket end.
    auto worker = book_.delivered_to.find(cookie);
    bool killed = worker == book_.delivered_to.end()
                      ? book_.last_kill + std::chrono::seconds{2} > run.sent
                      : book_.killed_workers.count(worker->second) > 0;
    if (!killed)
      book_.violation("WORKER_WENT_AWAY though its worker was not killed: " + cookie);
  } else if (rc == "NO_CAPACITY") {
    if (book_.delivered_to.count(cookie) > 0)
      book_.violation("NO_CAPACITY for a RUN a worker got: " + cookie);
    pause_until_ = clock::now() + refused_pause;
  } else {
    book_.violation("unexpected rc " + rc + ": " + std::string{payload});
  }
}

// -- soak_worker ------------------------------------------------------------------------------

soak_worker::soak_worker(const std::string& path, ledger& book, std::uint64_t seed,
                         std::size_t serial, std::size_t capacity,
                         std::chrono::milliseconds cancel_grace, bool liar)
    : socket(path), book_(book), rng_(seed), serial_(serial), capacity_(capacity),
      grace_(cancel_grace), liar_(liar) {
  ++book_.connections;
  if (liar_) {
    book_.liars.insert(serial_);
    socket.send(R"({"packet_type":"REGISTER","cookie":null,"capacity":4294967295})");
  }
  socket.send(original_register(static_cast<int>(capacity)));
}

void soak_worker::receive(const std::vector<protocol::frame>& frames) {
  auto now = clock::now();
  for (auto& f : frames) {
    auto read = protocol::read_packet(f);
    if (!read.ok() || !read.fields.type) {
      book_.violation("a worker got a bad frame: " + std::string{f.payload()});
      continue;
    }
    if (liar_ && *read.fields.type == protocol::packet_type::result &&
        read.fields.rc == protocol::result_code::bad_packet &&
        f.payload().find("max-worker-capacity") != std::string_view::npos) {
      ++book_.registers_refused;
      continue;
    }
    if (*read.fields.type == protocol::packet_type::run && read.fields.cookie) {
      auto cookie = read.fields.cookie->to_string();
      if (!book_.delivered_to.emplace(cookie, serial_).second)
        book_.violation("a RUN reached a worker twice: " + cookie);
      if (tasks_.size() >= capacity_)
        book_.violation("a worker got more tasks than its capacity");
      ++book_.tasks_run;
      task t;
      if (!liar_ && read.fields.pipeline != "hold") {
        // Mostly quick; one in fifty slow enough to be cancelled or caught by a kill.
        auto ms = rng_() % 50 == 0 ? 50 + rng_() % 100 : rng_() % 8;
        t.due = now + std::chrono::milliseconds{ms};
      }
      tasks_[cookie] = t;
    } else if (*read.fields.type == protocol::packet_type::cancel && read.fields.cookie) {
      auto it = tasks_.find(read.fields.cookie->to_string());
      if (it == tasks_.end())
        continue; // answered already: the CANCEL crossed the RESULT
      if (it->second.cancel_seen) {
        book_.violation("a worker got a second CANCEL for one task: " + it->first);
        continue;
      }
      it->second.cancel_seen = true;
      if (liar_)
        continue;
      switch (rng_() % 4) {
      case 0:
      case 1: // stops at once, as the C++ worker does
        it->second.answer_cancelled = true;
        it->second.due = now;
        break;
      case 2: // stops, but only after the broker's grace ran out
        it->second.answer_cancelled = true;
        it->second.due = now + grace_ + std::chrono::milliseconds{50 + rng_() % 100};
        break;
      default: // ignores it and finishes the task
        break;
      }
    } else {
      book_.violation("a worker got an unexpected packet: " + std::string{f.payload()});
    }
  }
}

void soak_worker::answer(const std::string& cookie, const task& t) {
  auto payload = t.answer_cancelled
                     ? cancelled_result(cookie)
                     : original_result(cookie, R"({"worker": )" + std::to_string(serial_) + "}");
  book_.answers[cookie] = payload;
  socket.send(payload);
}

void soak_worker::answer_due(clock::time_point now) {
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (it->second.due && *it->second.due <= now) {
      answer(it->first, it->second);
      it = tasks_.erase(it);
    } else {
      ++it;
    }
  }
}

void soak_worker::release_holds() {
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (!it->second.due) {
      answer(it->first, it->second);
      it = tasks_.erase(it);
    } else {
      ++it;
    }
  }
}

void soak_worker::kill() {
  book_.killed_workers.insert(serial_);
  book_.last_kill = clock::now();
  tasks_.clear();
  socket.close();
}

} // namespace rcbroker::test_support::soak
