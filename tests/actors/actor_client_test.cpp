// Actor clients and workers talking to the Switchboard without sockets, driven through CAF's
// deterministic test coordinator.

#include "rcbroker/actors/actor_client.hpp"
#include "rcbroker/actors/switchboard.hpp"
#include "rcbroker/testing/harness.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <memory>
#include <optional>

namespace rcbroker::actors {
namespace {

class ActorClientTest : public ::testing::Test {
protected:
  ActorClientTest()
      : sys_(harness_.system().system()), sched_(harness_.system().scheduler()),
        sb_(harness_.switchboard()) {}

  ~ActorClientTest() override {
    // The harness stops the Switchboard at its end; the actors of each test go first.
    for (auto& a : to_stop_)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    sched_.run();
  }

  /// Asks `client` to run `pipeline` (with `settings`, when given) and returns the slot its
  /// reply lands in.
  std::shared_ptr<std::optional<run_outcome>>
  submit(const actor_client_actor& client, std::string pipeline, std::string vars,
         std::optional<run_settings> settings = std::nullopt) {
    auto outcome = std::make_shared<std::optional<run_outcome>>();
    auto requester = sys_.spawn(
        [](caf::event_based_actor* self, actor_client_actor client, std::string pipeline,
           std::string vars, std::optional<run_settings> settings,
           std::shared_ptr<std::optional<run_outcome>> out) {
          auto keep = [out](run_outcome& x) { *out = std::move(x); };
          if (settings)
            self->request(client, caf::infinite, run_atom::value, pipeline, vars, *settings)
                .then(keep);
          else
            self->request(client, caf::infinite, run_atom::value, pipeline, vars).then(keep);
        },
        client, std::move(pipeline), std::move(vars), settings, outcome);
    to_stop_.push_back(caf::actor_cast<caf::actor>(requester));
    sched_.run();
    return outcome;
  }

  rcbroker::testing::harness harness_; // the Switchboard on CAF's test coordinator
  caf::actor_system& sys_;
  caf::scheduler::test_coordinator& sched_;
  switchboard_actor sb_;
  std::vector<caf::actor> to_stop_;
};

TEST_F(ActorClientTest, RunReachesAnActorWorkerAndItsResultComesBack) {
  auto worker =
      spawn_actor_worker(sys_, sb_, 2, [](const std::string& pipeline, const std::string& vars) {
        return R"({"pipeline": ")" + pipeline + R"(", "echo": )" + vars + "}";
      });
  auto client = spawn_actor_client(sys_, sb_);
  to_stop_.push_back(caf::actor_cast<caf::actor>(worker));
  to_stop_.push_back(caf::actor_cast<caf::actor>(client));
  sched_.run();
  auto outcome = submit(client, "echo", R"({"x": 1})");
  ASSERT_TRUE(outcome->has_value());
  EXPECT_EQ((*outcome)->rc, "OK");
  EXPECT_EQ((*outcome)->result, R"({"pipeline": "echo", "echo": {"x": 1}})");
  EXPECT_TRUE((*outcome)->error.empty());
}

TEST_F(ActorClientTest, ActorWorkersServeTheirPipelinesOnly) {
  auto tagged = [](std::string tag) {
    return [tag](const std::string&, const std::string&) { return tag; };
  };
  auto a = spawn_actor_worker(sys_, sb_, 1, tagged(R"("A")"), {}, {"a"});
  auto b = spawn_actor_worker(sys_, sb_, 1, tagged(R"("B")"), "any-token", {"b", "bb"});
  auto client = spawn_actor_client(sys_, sb_);
  for (auto& x : {caf::actor_cast<caf::actor>(a), caf::actor_cast<caf::actor>(b),
                  caf::actor_cast<caf::actor>(client)})
    to_stop_.push_back(x);
  sched_.run();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(submit(client, "bb", "{}")->value().result, R"("B")");
    EXPECT_EQ(submit(client, "a", "{}")->value().result, R"("A")");
  }
  auto none = submit(client, "c", "{}");
  EXPECT_EQ(none->value().rc, "NO_CAPACITY");
  EXPECT_EQ(none->value().error, "No capacity available for pipeline 'c'");
}

TEST_F(ActorClientTest, RunSettingsRetryOnAnotherWorkerAndTheOutcomeCountsAttempts) {
  namespace rt = rcbroker::testing;
  auto dies = harness_.worker(1, rt::in_order({rt::worker_step::die()}));
  auto worker = spawn_actor_worker(
      sys_, sb_, 1, [](const std::string&, const std::string& vars) { return vars; });
  auto client = spawn_actor_client(sys_, sb_);
  to_stop_.push_back(caf::actor_cast<caf::actor>(worker));
  to_stop_.push_back(caf::actor_cast<caf::actor>(client));
  sched_.run();
  run_settings settings;
  settings.retries = 1;
  settings.priority = 3;
  auto outcome = submit(client, "echo", "[1]", settings);
  ASSERT_TRUE(outcome->has_value());
  EXPECT_EQ((*outcome)->rc, "OK") << (*outcome)->error;
  EXPECT_EQ((*outcome)->result, "[1]");
  EXPECT_EQ((*outcome)->attempts, 2);
  EXPECT_EQ(submit(client, "echo", "[2]")->value().attempts, 0) << "not asked: not reported";
  settings.retries = 1001;
  auto refused = submit(client, "echo", "{}", settings);
  EXPECT_EQ(refused->value().rc, "BAD_PACKET");
}

TEST_F(ActorClientTest, HandlerExceptionBecomesProcessorException) {
  auto worker =
      spawn_actor_worker(sys_, sb_, 1, [](const std::string&, const std::string&) -> std::string {
        throw std::runtime_error("pipeline exploded");
      });
  auto client = spawn_actor_client(sys_, sb_);
  to_stop_.push_back(caf::actor_cast<caf::actor>(worker));
  to_stop_.push_back(caf::actor_cast<caf::actor>(client));
  sched_.run();
  auto outcome = submit(client, "boom", "{}");
  ASSERT_TRUE(outcome->has_value());
  EXPECT_EQ((*outcome)->rc, "PROCESSOR_EXCEPTION");
  EXPECT_EQ((*outcome)->error, "pipeline exploded");
  EXPECT_EQ((*outcome)->stacktrace, std::vector<std::string>{"pipeline exploded"});
}

TEST_F(ActorClientTest, NoWorkerMeansNoCapacity) {
  auto client = spawn_actor_client(sys_, sb_);
  to_stop_.push_back(caf::actor_cast<caf::actor>(client));
  sched_.run();
  auto outcome = submit(client, "echo", "{}");
  ASSERT_TRUE(outcome->has_value());
  EXPECT_EQ((*outcome)->rc, "NO_CAPACITY");
  EXPECT_EQ((*outcome)->error, "No capacity available");
}

TEST_F(ActorClientTest, SwitchboardGoingDownAnswersOpenRunsBrokerWentAway) {
  // A worker that registers but never answers: a plain peer that records nothing.
  auto silent = sys_.spawn(
      [](peer_actor::pointer self, switchboard_actor sb) -> peer_actor::behavior_type {
        self->send(sb, join_atom::value, peer_role::worker);
        self->send(sb, register_atom::value, std::uint32_t{1});
        return {[](deliver_atom, const frame&) {}, [](deliver_atom, const std::vector<frame>&) {}};
      },
      sb_);
  auto client = spawn_actor_client(sys_, sb_);
  to_stop_.push_back(caf::actor_cast<caf::actor>(silent));
  to_stop_.push_back(caf::actor_cast<caf::actor>(client));
  sched_.run();
  auto outcome = submit(client, "slow", "{}");
  EXPECT_FALSE(outcome->has_value()) << "the run is open while its worker works";
  caf::anon_send_exit(sb_, caf::exit_reason::kill);
  sched_.run();
  ASSERT_TRUE(outcome->has_value());
  EXPECT_EQ((*outcome)->rc, "BROKER_WENT_AWAY");
}

TEST_F(ActorClientTest, ActorWorkerStopsOnShutdown) {
  auto worker = spawn_actor_worker(
      sys_, sb_, 3, [](const std::string&, const std::string&) { return std::string{"null"}; });
  sched_.run();
  auto status = std::make_shared<switchboard_status>();
  auto ask = [&] {
    sys_.spawn(
        [](caf::event_based_actor* self, switchboard_actor sb,
           std::shared_ptr<switchboard_status> out) {
          self->request(sb, caf::infinite, status_atom::value).then([out](switchboard_status& s) {
            *out = s;
          });
        },
        sb_, status);
    sched_.run();
  };
  ask();
  EXPECT_EQ(status->registered_slots, 3u);
  auto watcher = std::make_shared<bool>(false);
  auto watching = sys_.spawn(
      [](caf::event_based_actor* self, peer_actor worker,
         std::shared_ptr<bool> ended) -> caf::behavior {
        self->monitor(worker);
        self->set_down_handler([ended](caf::down_msg&) { *ended = true; });
        // Without a behavior the actor would end at once, and its monitor with it.
        return {[](caf::exit_msg&) {}};
      },
      worker, watcher);
  to_stop_.push_back(watching);
  sched_.run();
  sys_.spawn(
      [](caf::event_based_actor* self, switchboard_actor sb) {
        self->request(sb, caf::infinite, shutdown_atom::value).then([](done_atom) {});
      },
      sb_);
  sched_.run();
  EXPECT_TRUE(*watcher) << "SHUTDOWN ends the actor worker";
}

} // namespace
} // namespace rcbroker::actors
