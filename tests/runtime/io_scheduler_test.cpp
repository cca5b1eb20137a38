// runtime::io_scheduler: CAF actors running inside the handlers of one Asio io_context thread.
// Each test builds an actor system on the scheduler, as the node does, and checks one thing
// CAF's own schedulers promise: where actors run, timers, monitors, blocking actors, shutdown.

#include "rcbroker/runtime/io_scheduler.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <caf/all.hpp>
#include <chrono>
#include <future>
#include <gtest/gtest.h>
#include <memory>
#include <thread>

namespace rcbroker::runtime {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

/// An io_context on its own thread and an actor system whose scheduler is that thread.
class IoScheduler : public ::testing::Test {
protected:
  IoScheduler() {
    io_thread_ = std::thread{[this] {
      io_thread_id_promise_.set_value(std::this_thread::get_id());
      ioc_.run();
    }};
    io_thread_id_ = io_thread_id_promise_.get_future().get();
    io_scheduler::install(cfg_, ioc_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
  }

  ~IoScheduler() override {
    sys_.reset();
    work_.reset();
    // With the system gone nothing may keep the io_context busy: no timer, no queued job.
    for (int i = 0; i < 200 && !ioc_.stopped(); ++i)
      std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(ioc_.stopped()) << "the io_context still had work after the system ended";
    ioc_.stop();
    io_thread_.join();
  }

  caf::actor_system& sys() { return *sys_; }

  /// Spawns a function actor that takes no arguments besides its self pointer. CAF 0.17 keeps
  /// such an actor's (empty) argument tuple as a null pointer and dereferences it, which UBSan
  /// stops on: an unused argument gives it a real tuple.
  template <caf::spawn_options Os = caf::no_spawn_options, class F>
  caf::actor spawn_fn(F fun) {
    return sys().spawn<Os>(
        [fun](caf::event_based_actor* self, caf::unit_t) -> caf::behavior { return fun(self); },
        caf::unit);
  }

  asio::io_context ioc_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{ioc_.get_executor()};
  std::promise<std::thread::id> io_thread_id_promise_;
  std::thread io_thread_;
  std::thread::id io_thread_id_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

caf::behavior thread_reporter(caf::event_based_actor*) {
  return {[](ping_atom) { return std::hash<std::thread::id>{}(std::this_thread::get_id()); }};
}

TEST_F(IoScheduler, ReplacesCafsSchedulerAndRunsActorsOnTheIoThread) {
  EXPECT_NE(dynamic_cast<io_scheduler*>(&sys().scheduler()), nullptr);
  auto reporter = spawn_fn(thread_reporter);
  caf::scoped_actor self{sys()};
  std::size_t seen = 0;
  self->request(reporter, 5s, ping_atom::value)
      .receive([&](std::size_t id) { seen = id; },
               [&](caf::error& err) { FAIL() << sys().render(err); });
  EXPECT_EQ(seen, std::hash<std::thread::id>{}(io_thread_id_));
  self->send_exit(reporter, caf::exit_reason::user_shutdown);
}

TEST_F(IoScheduler, ActorToActorRequestsChainOnTheIoThread) {
  auto reporter = spawn_fn(thread_reporter);
  auto relay = spawn_fn([reporter](caf::event_based_actor* self) -> caf::behavior {
    return {[self, reporter](ping_atom) { return self->delegate(reporter, ping_atom::value); }};
  });
  caf::scoped_actor self{sys()};
  for (int i = 0; i < 100; ++i)
    self->request(relay, 5s, ping_atom::value)
        .receive(
            [&](std::size_t id) { EXPECT_EQ(id, std::hash<std::thread::id>{}(io_thread_id_)); },
            [&](caf::error& err) { FAIL() << sys().render(err); });
  self->send_exit(relay, caf::exit_reason::user_shutdown);
  self->send_exit(reporter, caf::exit_reason::user_shutdown);
}

TEST_F(IoScheduler, DelayedSendArrivesAfterItsDelay) {
  caf::scoped_actor self{sys()};
  auto start = std::chrono::steady_clock::now();
  auto timer = sys().spawn(
      [](caf::event_based_actor* self, caf::actor reply_to) -> caf::behavior {
        self->delayed_send(self, 60ms, tick_atom::value);
        return {[self, reply_to](tick_atom) {
          self->send(reply_to, tick_atom::value);
          self->quit();
        }};
      },
      caf::actor{self});
  bool ticked = false;
  self->receive([&](tick_atom) { ticked = true; }, caf::after(5s) >> [] {});
  EXPECT_TRUE(ticked);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 60ms);
}

TEST_F(IoScheduler, ManyTimersFireInOrderOfTheirDeadlines) {
  caf::scoped_actor self{sys()};
  // Timers set out of order, from the io thread: the one Asio timer follows the earliest.
  sys().spawn(
      [](caf::event_based_actor* self, caf::actor reply_to) -> caf::behavior {
        for (int ms : {90, 30, 60, 10})
          self->delayed_send(reply_to, std::chrono::milliseconds{ms}, ms);
        return {[](int) {}};
      },
      caf::actor{self});
  std::vector<int> order;
  for (int i = 0; i < 4; ++i)
    self->receive([&](int ms) { order.push_back(ms); }, caf::after(5s) >> [] {});
  EXPECT_EQ(order, (std::vector<int>{10, 30, 60, 90}));
}

TEST_F(IoScheduler, RequestTimesOutWhenNobodyAnswers) {
  auto silent = spawn_fn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](ping_atom) {
      // Keeps the promise and never delivers it.
      return self->make_response_promise<std::size_t>();
    }};
  });
  caf::scoped_actor self{sys()};
  auto asker = sys().spawn(
      [silent](caf::event_based_actor* asker, caf::actor reply_to) -> caf::behavior {
        asker->request(silent, 50ms, ping_atom::value)
            .then([](std::size_t) {},
                  [asker, reply_to](caf::error& err) { asker->send(reply_to, err); });
        return {[](int) {}};
      },
      caf::actor{self});
  caf::error got;
  self->receive([&](caf::error& err) { got = err; }, caf::after(5s) >> [] {});
  EXPECT_EQ(got, caf::sec::request_timeout);
  self->send_exit(asker, caf::exit_reason::user_shutdown);
  self->send_exit(silent, caf::exit_reason::user_shutdown);
}

TEST_F(IoScheduler, AfterFiresWhenNoMessageCame) {
  caf::scoped_actor self{sys()};
  sys().spawn(
      [](caf::event_based_actor* self, caf::actor reply_to) -> caf::behavior {
        return {[](int) {}, caf::after(40ms) >>
                                [self, reply_to] {
                                  self->send(reply_to, tick_atom::value);
                                  self->quit();
                                }};
      },
      caf::actor{self});
  bool fired = false;
  self->receive([&](tick_atom) { fired = true; }, caf::after(5s) >> [] {});
  EXPECT_TRUE(fired);
}

TEST_F(IoScheduler, TimeoutsSetFromAnotherThreadFire) {
  // A scoped actor lives on the test thread: its request timeout is set from there.
  auto silent = spawn_fn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](ping_atom) { return self->make_response_promise<std::size_t>(); }};
  });
  caf::scoped_actor self{sys()};
  caf::error got;
  self->request(silent, 50ms, ping_atom::value)
      .receive([](std::size_t) {}, [&](caf::error& err) { got = err; });
  EXPECT_EQ(got, caf::sec::request_timeout);
  self->send_exit(silent, caf::exit_reason::user_shutdown);
}

TEST_F(IoScheduler, MonitorsGetDownMessages) {
  caf::scoped_actor self{sys()};
  auto doomed = spawn_fn([](caf::event_based_actor* doomed) -> caf::behavior {
    return {[doomed](int) { doomed->quit(caf::exit_reason::user_shutdown); }};
  });
  // Kept: an actor nobody holds is ended as unreachable.
  auto watcher = sys().spawn(
      [doomed](caf::event_based_actor* watcher, caf::actor reply_to) -> caf::behavior {
        watcher->monitor(doomed);
        watcher->set_down_handler([watcher, reply_to](caf::down_msg& msg) {
          watcher->send(reply_to, tick_atom::value, caf::to_string(msg.reason));
          watcher->quit();
        });
        return {[](int) {}};
      },
      caf::actor{self});
  std::this_thread::sleep_for(20ms);
  self->send(doomed, 1);
  std::string reason;
  self->receive([&](tick_atom, std::string& r) { reason = r; }, caf::after(5s) >> [] {});
  EXPECT_EQ(reason, caf::to_string(caf::make_error(caf::exit_reason::user_shutdown)));
}

TEST_F(IoScheduler, ABlockingActorKeepsItsOwnThreadAndDoesNotStallTheIoThread) {
  auto reporter = spawn_fn(thread_reporter);
  auto sleeper_started = std::make_shared<std::promise<void>>();
  auto sleeper =
      spawn_fn<caf::detached>([sleeper_started](caf::event_based_actor*) -> caf::behavior {
        return {[sleeper_started](ping_atom) {
          sleeper_started->set_value();
          std::this_thread::sleep_for(300ms); // blocks its own thread only
          return std::hash<std::thread::id>{}(std::this_thread::get_id());
        }};
      });
  caf::scoped_actor self{sys()};
  self->send(sleeper, ping_atom::value);
  sleeper_started->get_future().wait();
  // While the detached actor sleeps, actors on the io thread answer at once.
  auto before = std::chrono::steady_clock::now();
  self->request(reporter, 5s, ping_atom::value)
      .receive([](std::size_t) {}, [&](caf::error& err) { FAIL() << sys().render(err); });
  EXPECT_LT(std::chrono::steady_clock::now() - before, 200ms);
  self->receive([&](std::size_t id) { EXPECT_NE(id, std::hash<std::thread::id>{}(io_thread_id_)); },
                caf::after(5s) >> [] { FAIL() << "the detached actor did not answer"; });
  self->send_exit(sleeper, caf::exit_reason::user_shutdown);
  self->send_exit(reporter, caf::exit_reason::user_shutdown);
}

TEST_F(IoScheduler, ABatchRunsTheActorsItsHandlerSentToBeforeTheHandlerEnds) {
  auto count = std::make_shared<int>(0); // touched on the io thread only
  auto counter = spawn_fn([count](caf::event_based_actor*) -> caf::behavior {
    return {[count](int n) { *count += n; }};
  });
  std::promise<std::pair<int, int>> seen;
  asio::post(ioc_, [&] {
    int inside = 0;
    {
      io_scheduler::batch batch;
      for (int i = 0; i < 3; ++i)
        caf::anon_send(counter, 1);
      inside = *count; // held back while the batch is open
    }
    seen.set_value({inside, *count});
  });
  auto [inside, after] = seen.get_future().get();
  EXPECT_EQ(inside, 0);
  EXPECT_EQ(after, 3);
  caf::anon_send_exit(counter, caf::exit_reason::user_shutdown);
}

TEST_F(IoScheduler, ShutsDownWithActorsAliveAndTimersPending) {
  // Actors with timers an hour away, some mid-conversation: the system must still end, and the
  // fixture checks that the io_context has nothing left (no timer, no queued job).
  std::vector<caf::actor> alive;
  for (int i = 0; i < 50; ++i)
    alive.push_back(spawn_fn([](caf::event_based_actor* self) -> caf::behavior {
      self->delayed_send(self, std::chrono::hours{1}, tick_atom::value);
      return {
          [self](tick_atom) { self->delayed_send(self, std::chrono::hours{1}, tick_atom::value); },
          [self](int n) { self->send(self, n + 1); }};
    }));
  for (auto& a : alive)
    caf::anon_send(a, 0); // each keeps sending itself messages
  std::this_thread::sleep_for(20ms);
  for (auto& a : alive)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  alive.clear();
  sys().await_all_actors_done();
}

} // namespace
} // namespace rcbroker::runtime
