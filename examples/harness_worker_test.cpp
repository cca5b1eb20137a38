// A deterministic test of an actor worker with the actor test harness (rcbroker/testing): the
// real Switchboard on CAF's test coordinator, driven message by message, no sockets, no sleeps.
//
// Run: build/examples/harness_worker_test
//   Prints each failed check and exits 1 if any failed, 0 otherwise.

#include "rcbroker/actors/actor_client.hpp"
#include "rcbroker/testing/harness.hpp"

#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
namespace rt = rcbroker::testing;
using rcbroker::protocol::result_code;

namespace {

/// The worker under test: counts the words of its variables (a JSON string).
std::string count_words(const std::string&, const std::string& variables) {
  if (variables.size() < 2 || variables.front() != '"')
    throw std::invalid_argument("variables must be a JSON string");
  std::size_t words = 0;
  bool in_word = false;
  for (char ch : variables.substr(1, variables.size() - 2)) {
    if (ch != ' ' && !in_word)
      ++words;
    in_word = ch != ' ';
  }
  return std::to_string(words);
}

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "FAILED: " << what << "\n";
    ++failures;
  }
}

} // namespace

int main() {
  rt::harness h;
  // The real actor worker, joined to the harness's Switchboard with one slot.
  auto worker =
      rcbroker::actors::spawn_actor_worker(h.system().system(), h.switchboard(), 1, count_words);
  h.system().stop_at_end(caf::actor_cast<caf::actor>(worker));
  h.run();
  auto client = h.client();

  rt::run_options words;
  words.variables = R"("three little words")";
  auto counted = client.run(words);
  auto result = client.result_for(counted);
  check(result && result->rc == result_code::ok && result->result == "3", "three words counted");

  rt::run_options bad;
  bad.variables = R"({"not": "a string"})";
  auto refused = client.run(bad);
  result = client.result_for(refused);
  check(result && result->rc == result_code::processor_exception,
        "bad variables give PROCESSOR_EXCEPTION");

  // Virtual time: a scripted worker that answers late, and a task deadline that comes first.
  rt::harness timed{[] {
    rcbroker::actors::switchboard_config config;
    config.max_task_duration = 5s;
    return config;
  }()};
  timed.worker(1, rt::always(rt::worker_step::answer("1").after(10s)));
  auto slow_client = timed.client();
  auto slow = slow_client.run();
  timed.advance_time(5s);
  result = slow_client.result_for(slow);
  check(result && result->rc == result_code::exception, "the deadline answers a slow task");

  auto snapshot = h.snapshot();
  check(snapshot && snapshot->results_forwarded == 2, "two RESULTs forwarded");
  std::cout << (failures == 0 ? "all checks passed\n" : "some checks failed\n");
  return failures == 0 ? 0 : 1;
}
