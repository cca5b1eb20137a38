#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <caf/detail/simple_actor_clock.hpp>
#include <cstdint>
#include <mutex>

namespace rcbroker::runtime {

/// CAF's actor clock (timeouts of `request`, `after`, `delayed_send`) on one Boost.Asio timer of
/// the io_context that runs the actors. Its schedule belongs to the io thread: a call from any
/// other thread (a blocking actor, the middleman) is posted there with a strong reference to its
/// actor. One timer is armed to the earliest entry; nothing else wakes up.
class io_clock final : public caf::detail::simple_actor_clock {
public:
  using super = caf::detail::simple_actor_clock;

  explicit io_clock(boost::asio::io_context& ioc);

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            std::uint64_t id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         std::uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override;
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override;
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override;
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override;
  void cancel_all() override;

  /// Drops every entry and disarms the timer; on the io thread only (the scheduler's stop).
  /// Calls from other threads after this are dropped: the clock is about to be destroyed.
  void shut_down();

private:
  template <class F>
  void on_io_thread(F&& f);
  template <class F>
  void post_unless_shut_down(F&& f);
  void rearm();

  boost::asio::io_context& ioc_;
  boost::asio::steady_timer timer_;
  time_point armed_for_{};
  bool armed_ = false;
  // Guards the step from "not shut down" to "posted": what was posted before shut_down runs
  // before the scheduler's stop returns, what comes after is never posted.
  std::mutex post_mutex_;
  std::atomic<bool> shut_down_{false};
};

} // namespace rcbroker::runtime
