#pragma once

#include "rcbroker/runtime/io_clock.hpp"

#include <boost/asio/io_context.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/execution_unit.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <cstddef>
#include <deque>

namespace rcbroker::runtime {

/// A CAF scheduler that runs every actor of its actor system inside the handlers of one
/// Boost.Asio io_context, on the one thread that runs it: a socket's read handler, the actors
/// that its frames reach and the socket writes they cause run back to back with no thread hop.
///
/// Jobs queue on the io thread and are drained in batches: messages sent while a `batch` is open
/// (e.g. from a read handler) run when it closes, any others in one deferred handler; a drain
/// runs at most `drain_budget` actors before it lets other handlers in; then the socket writes
/// the actors queued go out, one gather write per socket (transport::flush_pending_writes): at
/// once when they are for one socket, else after the handlers ready at that moment (the other
/// reads of the same epoll round), whose writes join them. Sends from other threads
/// (blocking and detached actors, the middleman, main) are posted to the io thread.
///
/// Rules for its users: run the io_context on exactly one thread; never block in an actor; keep
/// the io_context alive (and running, or stopped for good) until the actor system is destroyed,
/// and destroy the actor system on another thread than the io thread.
class io_scheduler final : public caf::scheduler::abstract_coordinator {
public:
  /// Actors resumed per drain before other handlers get a turn.
  static constexpr std::size_t drain_budget = 256;

  /// Messages one actor takes per resume when `scheduler.max-throughput` is not set.
  static constexpr std::size_t default_throughput = 64;

  io_scheduler(caf::actor_system& sys, boost::asio::io_context& ioc);
  ~io_scheduler() override;

  /// Makes the actor system built from `cfg` run its actors on `ioc` (replacing CAF's own
  /// scheduler, whose `scheduler.policy` and `max-threads` are then ignored).
  static void install(caf::actor_system_config& cfg, boost::asio::io_context& ioc);

  /// The io_scheduler whose io thread is the calling thread, or null.
  static io_scheduler* current() noexcept;

  /// Holds back the drain of messages sent on the io thread while it lives, and drains them
  /// when it ends: wrap a handler's sends in one so that their actors run once, at its end.
  /// Does nothing off the io thread or inside a drain.
  class batch {
  public:
    batch() noexcept;
    ~batch();
    batch(const batch&) = delete;
    batch& operator=(const batch&) = delete;

  private:
    io_scheduler* owner_;
  };

  void enqueue(caf::resumable* job) override;
  caf::actor_clock& clock() noexcept override;
  void start() override;
  void stop() override;
  void init(caf::actor_system_config& cfg) override;

private:
  /// The execution unit of the io thread: actor-to-actor sends land in its queue.
  class unit : public caf::execution_unit {
  public:
    unit(caf::actor_system& sys, io_scheduler& owner);
    void exec_later(caf::resumable* job) override;

  private:
    io_scheduler& owner_;
  };

  void push(caf::resumable* job);
  void schedule_drain();
  void drain();
  void release_all();

  boost::asio::io_context& ioc_;
  unit unit_;
  io_clock clock_;
  std::deque<caf::resumable*> queue_; // io thread only
  std::size_t throughput_ = default_throughput;
  std::size_t batches_open_ = 0;
  bool draining_ = false;
  bool drain_scheduled_ = false;
  bool flush_scheduled_ = false;
};

} // namespace rcbroker::runtime
