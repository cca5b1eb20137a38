#include "rcbroker/runtime/io_scheduler.hpp"

#include "rcbroker/transport/write_batch.hpp"

#include <boost/asio/defer.hpp>
#include <boost/asio/post.hpp>
#include <caf/actor_system.hpp>
#include <caf/logger.hpp>
#include <caf/resumable.hpp>
#include <future>
#include <limits>

namespace rcbroker::runtime {

namespace asio = boost::asio;

namespace {

// The scheduler whose io thread this is: set by a job the scheduler posts at start.
thread_local io_scheduler* this_thread_scheduler = nullptr;

} // namespace

io_scheduler::unit::unit(caf::actor_system& sys, io_scheduler& owner)
    : caf::execution_unit(&sys), owner_(owner) {}

void io_scheduler::unit::exec_later(caf::resumable* job) {
  // Only an actor this unit runs calls this, so it is on the io thread.
  owner_.push(job);
}

io_scheduler::io_scheduler(caf::actor_system& sys, asio::io_context& ioc)
    : caf::scheduler::abstract_coordinator(sys), ioc_(ioc), unit_(sys, *this), clock_(ioc) {}

io_scheduler::~io_scheduler() = default;

void io_scheduler::install(caf::actor_system_config& cfg, asio::io_context& ioc) {
  cfg.module_factories.push_back([&ioc](caf::actor_system& sys) -> caf::actor_system::module* {
    return new io_scheduler(sys, ioc);
  });
}

io_scheduler* io_scheduler::current() noexcept {
  return this_thread_scheduler;
}

void io_scheduler::init(caf::actor_system_config& cfg) {
  caf::scheduler::abstract_coordinator::init(cfg);
  // CAF's default is "no limit": one busy actor would then hold the thread for its whole mailbox.
  throughput_ = max_throughput_ == std::numeric_limits<std::size_t>::max() || max_throughput_ == 0
                    ? default_throughput
                    : max_throughput_;
}

void io_scheduler::start() {
  asio::post(ioc_, [this] {
    this_thread_scheduler = this;
    transport::drive_pending_writes(true); // each drain ends with the flush
  });
  // The utility actors (printer, timer) are detached: they block on their own threads.
  caf::scheduler::abstract_coordinator::start();
}

caf::actor_clock& io_scheduler::clock() noexcept {
  return clock_;
}

void io_scheduler::enqueue(caf::resumable* job) {
  if (ioc_.get_executor().running_in_this_thread()) {
    push(job);
    return;
  }
  asio::post(ioc_, [this, job] { push(job); });
}

void io_scheduler::push(caf::resumable* job) {
  queue_.push_back(job);
  if (!draining_ && batches_open_ == 0)
    schedule_drain();
}

void io_scheduler::schedule_drain() {
  if (drain_scheduled_)
    return;
  drain_scheduled_ = true;
  // From the io thread, defer queues on the thread's private queue: no lock, no wake-up.
  asio::defer(ioc_, [this] {
    drain_scheduled_ = false;
    drain();
  });
}

void io_scheduler::drain() {
  if (draining_)
    return;
  draining_ = true;
  for (std::size_t n = 0; n < drain_budget && !queue_.empty(); ++n) {
    auto* job = queue_.front();
    queue_.pop_front();
    switch (job->resume(&unit_, throughput_)) {
    case caf::resumable::resume_later:
      queue_.push_back(job); // keeps its reference
      break;
    case caf::resumable::done:
    case caf::resumable::awaiting_message:
      intrusive_ptr_release(job);
      break;
    default: // shutdown_execution_unit: only CAF's own worker threads get that
      break;
    }
  }
  draining_ = false;
  // What the actors wrote goes out in one gather write per socket. Writes to one socket go at
  // once (one task in flight: no wait). Writes to several wait for the other handlers that are
  // ready now (the other reads of the epoll round), whose frames to the same sockets join them:
  // under load that saves a write per read, at the price of one epoll_wait(0).
  if (transport::pending_write_streams() <= 1 && !flush_scheduled_) {
    transport::flush_pending_writes();
  } else if (!flush_scheduled_) {
    flush_scheduled_ = true;
    asio::defer(ioc_, [this] {
      flush_scheduled_ = false;
      transport::flush_pending_writes();
    });
  }
  if (!queue_.empty())
    schedule_drain();
}

io_scheduler::batch::batch() noexcept : owner_(this_thread_scheduler) {
  if (owner_ != nullptr)
    ++owner_->batches_open_;
}

io_scheduler::batch::~batch() {
  if (owner_ == nullptr)
    return;
  if (--owner_->batches_open_ == 0 && !owner_->draining_)
    owner_->drain();
}

void io_scheduler::release_all() {
  clock_.shut_down();
  while (!queue_.empty()) {
    auto* job = queue_.front();
    queue_.pop_front();
    cleanup_and_release(job);
  }
  this_thread_scheduler = nullptr;
  transport::flush_pending_writes();
  transport::drive_pending_writes(false);
  // spawn() left a strong reference to CAF's logger in this thread's thread_local: without this
  // ~actor_system waits for it forever.
  caf::logger::set_current_actor_system(nullptr);
}

void io_scheduler::stop() {
  stop_actors();
  if (!ioc_.stopped()) {
    // The io thread still runs: the queue and the clock are its to clear.
    std::promise<void> done;
    asio::post(ioc_, [this, &done] {
      release_all();
      // A timer wait that completed before the cancel is already queued and still runs: answer
      // after it, so that it never touches a destroyed clock.
      asio::post(ioc_, [&done] { done.set_value(); });
    });
    done.get_future().wait();
    return;
  }
  // The io thread has ended: run what it left (sends from the middleman's shutdown, say) here,
  // as the io thread, then clear.
  ioc_.restart();
  ioc_.poll();
  release_all();
}

} // namespace rcbroker::runtime
