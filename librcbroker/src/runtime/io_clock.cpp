#include "rcbroker/runtime/io_clock.hpp"

#include <boost/asio/post.hpp>
#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/group.hpp>
#include <caf/mailbox_element.hpp>
#include <memory>

namespace rcbroker::runtime {

namespace asio = boost::asio;

namespace {

caf::strong_actor_ptr strong(caf::abstract_actor* self) {
  return caf::actor_cast<caf::strong_actor_ptr>(self);
}

caf::abstract_actor* raw(const caf::strong_actor_ptr& p) {
  return caf::actor_cast<caf::abstract_actor*>(p);
}

} // namespace

io_clock::io_clock(asio::io_context& ioc) : ioc_(ioc), timer_(ioc) {}

template <class F>
void io_clock::on_io_thread(F&& f) {
  if (shut_down_)
    return; // the system is ending: no timeout would fire, and none may outlive the clock
  if (ioc_.get_executor().running_in_this_thread()) {
    f();
    rearm();
    return;
  }
  // Another thread: the schedule is the io thread's, so the change travels there. The closure
  // holds what it needs by value (the actor by a strong reference), as the caller may be gone.
  post_unless_shut_down([this, f = std::forward<F>(f)]() mutable {
    f();
    rearm();
  });
}

template <class F>
void io_clock::post_unless_shut_down(F&& f) {
  std::lock_guard<std::mutex> guard{post_mutex_};
  if (shut_down_)
    return; // actors cleaned up as the system ends: their timeouts went with shut_down
  asio::post(ioc_, std::forward<F>(f));
}

void io_clock::rearm() {
  if (shut_down_)
    return;
  auto& entries = schedule();
  if (entries.empty())
    return; // an armed timer that finds nothing due is harmless: it re-arms or stops
  auto due = entries.begin()->first;
  if (armed_ && armed_for_ <= due)
    return;
  armed_ = true;
  armed_for_ = due;
  timer_.expires_at(due); // cancels an older wait: its handler sees operation_aborted
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec)
      return;
    armed_ = false;
    trigger_expired_timeouts();
    rearm();
  });
}

void io_clock::set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                                    std::uint64_t id) {
  on_io_thread(
      [this, t, p = strong(self), type, id] { super::set_ordinary_timeout(t, raw(p), type, id); });
}

void io_clock::set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                                 std::uint64_t id) {
  on_io_thread(
      [this, t, p = strong(self), type, id] { super::set_multi_timeout(t, raw(p), type, id); });
}

void io_clock::set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) {
  on_io_thread([this, t, p = strong(self), id] { super::set_request_timeout(t, raw(p), id); });
}

void io_clock::cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) {
  on_io_thread([this, p = strong(self), type] { super::cancel_ordinary_timeout(raw(p), type); });
}

void io_clock::cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) {
  on_io_thread([this, p = strong(self), id] { super::cancel_request_timeout(raw(p), id); });
}

void io_clock::cancel_timeouts(caf::abstract_actor* self) {
  // Called as an actor is cleaned up, when its strong count may already be zero: by id, no
  // reference is taken. (The simple clock only reads the id.)
  if (ioc_.get_executor().running_in_this_thread()) {
    super::cancel_timeouts(self);
    return;
  }
  auto id = self->id();
  post_unless_shut_down([this, id] {
    auto range = actor_lookup_.equal_range(id);
    for (auto i = range.first; i != range.second; ++i)
      schedule_.erase(i->second);
    actor_lookup_.erase(range.first, range.second);
  });
}

void io_clock::schedule_message(time_point t, caf::strong_actor_ptr receiver,
                                caf::mailbox_element_ptr content) {
  // mailbox_element_ptr is move-only: shared for the copyable closure that post needs.
  auto shared = std::make_shared<caf::mailbox_element_ptr>(std::move(content));
  on_io_thread([this, t, receiver = std::move(receiver), shared]() mutable {
    super::schedule_message(t, std::move(receiver), std::move(*shared));
  });
}

void io_clock::schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                                caf::message content) {
  on_io_thread([this, t, target = std::move(target), sender = std::move(sender),
                content = std::move(content)]() mutable {
    super::schedule_message(t, std::move(target), std::move(sender), std::move(content));
  });
}

void io_clock::cancel_all() {
  on_io_thread([this] { super::cancel_all(); });
}

void io_clock::shut_down() {
  {
    std::lock_guard<std::mutex> guard{post_mutex_};
    shut_down_ = true;
  }
  super::cancel_all();
  armed_ = false;
  timer_.cancel();
}

} // namespace rcbroker::runtime
