#pragma once

// The chaos soak's fake clients and workers: non-blocking Unix-socket peers that one poll loop
// drives, writing frames as original ReasonChip peers do and recording in a shared ledger what
// they sent and got, so that the soak can check every RESULT against what really happened.

#include "rcbroker/protocol/frame.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rcbroker::test_support::soak {

using clock = std::chrono::steady_clock;

/// What every peer of one soak saw and did; the soak's checks read it.
struct ledger {
  std::unordered_map<std::string, std::size_t> delivered_to; ///< cookie -> worker serial
  std::set<std::size_t> killed_workers;                      ///< serials of killed workers
  std::set<std::size_t> liars;   ///< serials of workers that lie about their capacity
  clock::time_point last_kill{}; ///< when a worker was last killed
  std::unordered_map<std::string, std::string> answers; ///< cookie -> RESULT a worker sent
  std::map<std::string, std::uint64_t> results_by_code; ///< RESULTs at soak clients, by rc
  std::set<std::string> refused;                        ///< cookies answered NO_CAPACITY
  std::uint64_t runs = 0;                               ///< RUNs sent by soak clients
  std::uint64_t detached = 0;                           ///< of which detached
  std::uint64_t cancels = 0;                            ///< tasks cancelled
  std::uint64_t cancel_repeats = 0;    ///< CANCELs sent again for a task already cancelled
  std::uint64_t registers_refused = 0; ///< BAD_PACKETs that liars got for their REGISTERs
  std::uint64_t timed_out = 0;         ///< tasks answered EXCEPTION when their deadline passed
  std::uint64_t not_found = 0;         ///< COOKIE_NOT_FOUND answers to CANCELs that came too late
  std::uint64_t connections = 0;       ///< sockets opened to the node
  std::uint64_t tasks_run = 0;         ///< RUNs that reached a worker
  std::vector<std::string> violations; ///< what went wrong (the first few)
  std::uint64_t violation_count = 0;

  /// Records a broken rule.
  void violation(std::string what);
};

/// A non-blocking Unix stream socket that speaks frames.
class framed_socket {
public:
  /// Connects to the socket at `path`; throws on failure.
  explicit framed_socket(const std::string& path);
  ~framed_socket();

  framed_socket(const framed_socket&) = delete;
  framed_socket& operator=(const framed_socket&) = delete;

  /// The descriptor to poll (-1 once closed).
  int fd() const noexcept { return fd_; }

  /// Queues `payload` as one frame and writes as much as the socket takes.
  void send(std::string_view payload);

  /// Writes queued bytes; false when the connection broke.
  bool flush();

  /// Whether bytes wait to be written.
  bool wants_write() const noexcept { return !out_.empty(); }

  /// Reads what is available, appending whole frames; false when the node closed the connection.
  bool read(std::vector<protocol::frame>& out);

  /// Closes the socket at once, abandoning queued bytes (an abrupt disconnect).
  void close();

private:
  int fd_ = -1;
  std::string out_;
  protocol::frame_decoder decoder_;
};

/// A client: keeps a few RUNs in flight, cancels some, detaches some, and checks each RESULT.
class soak_client {
public:
  /// Connects to the client endpoint at `path`; `in_flight` RUNs are kept open while generating.
  soak_client(const std::string& path, ledger& book, std::uint64_t seed, std::size_t in_flight);

  /// Sends one RUN now; returns its cookie.
  std::string run(const std::string& pipeline, bool detach);

  /// Handles frames from the node.
  void receive(const std::vector<protocol::frame>& frames);

  /// Sends the CANCELs that are due and new RUNs as the load calls for.
  void generate(clock::time_point now);

  /// Non-detached RUNs without their RESULT yet.
  std::size_t outstanding() const noexcept { return outstanding_; }

  /// RESULTs this client got, by rc (COOKIE_NOT_FOUND included).
  const std::map<std::string, std::uint64_t>& codes() const noexcept { return codes_; }

  /// Whether this client counts in the soak's figures (the final probe does not).
  bool counted = true;

  framed_socket socket;

private:
  struct run_state {
    bool detach = false;
    bool cancelled = false;
    bool resolved = false;
    clock::time_point sent;
    std::optional<clock::time_point> cancel_at; ///< when to send a CANCEL, if ever
  };

  void check_result(const std::string& cookie, run_state& run, const std::string& rc,
                    std::string_view payload);

  ledger& book_;
  std::mt19937_64 rng_;
  std::size_t in_flight_;
  std::size_t outstanding_ = 0;
  clock::time_point pause_until_{};
  std::unordered_map<std::string, run_state> runs_;
  std::vector<std::string> open_; ///< cookies of outstanding RUNs, for picking one to cancel
  std::map<std::string, std::uint64_t> codes_;
};

/// A worker: registers its capacity, answers each task after a short random delay, answers some
/// CANCELs at once and lets others run out the broker's grace; holds tasks of the `hold`
/// pipeline until released. A liar first asks for 2^32-1 slots (which the node must refuse),
/// then for `capacity`, and never answers a task: the node's deadline must.
class soak_worker {
public:
  /// Connects to the worker endpoint at `path` and registers `capacity` slots.
  soak_worker(const std::string& path, ledger& book, std::uint64_t seed, std::size_t serial,
              std::size_t capacity, std::chrono::milliseconds cancel_grace, bool liar = false);

  /// Handles frames from the node.
  void receive(const std::vector<protocol::frame>& frames);

  /// Answers the tasks whose time has come.
  void answer_due(clock::time_point now);

  /// Answers every held `hold` task at once.
  void release_holds();

  /// Tasks it has not answered yet.
  std::size_t held() const noexcept { return tasks_.size(); }

  /// Kills the connection: its tasks stay unanswered.
  void kill();

  std::size_t serial() const noexcept { return serial_; }
  std::size_t capacity() const noexcept { return capacity_; }

  framed_socket socket;

private:
  struct task {
    std::optional<clock::time_point> due; ///< none: held until released
    bool answer_cancelled = false;
    bool cancel_seen = false;
  };

  void answer(const std::string& cookie, const task& t);

  ledger& book_;
  std::mt19937_64 rng_;
  std::size_t serial_;
  std::size_t capacity_;
  std::chrono::milliseconds grace_;
  bool liar_;
  std::map<std::string, task> tasks_;
};

} // namespace rcbroker::test_support::soak
