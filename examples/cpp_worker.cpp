// A C++ worker with rcbroker::client::worker: it registers two slots and answers each task.
//
// Run: build/examples/cpp_worker [WORKER_URL]
//   With a URL (e.g. tcp://[::1]:51510 of `scripts/run`) it serves that node until Ctrl-C would
//   stop it (here: until SHUTDOWN); without one it starts a node in this process, submits one
//   task to itself and exits 0 when the worker's answer comes back, 1 otherwise.

#include "local_node.hpp"
#include "rcbroker/client/client.hpp"
#include "rcbroker/client/worker.hpp"

#include <exception>
#include <iostream>

namespace {

/// The work: wraps the task's variables in an object naming the pipeline.
std::string handle(rcbroker::client::task_context& task) {
  return R"({"pipeline": ")" + task.pipeline() + R"(", "input": )" + task.variables() + "}";
}

} // namespace

int main(int argc, char** argv) {
  rcbroker::client::worker_options options;
  options.capacity = 2;
  if (argc > 1) {
    options.endpoint = argv[1];
    rcbroker::client::worker worker{options, handle};
    worker.run(); // until SHUTDOWN
    return 0;
  }
  try {
    examples::local_node node;
    options.endpoint = node.worker_url();
    rcbroker::client::worker worker{options, handle};
    worker.start(); // connects and registers on its own thread
    rcbroker::client::client conn{node.client_url()};
    // The node queues the RUN until the worker's slots are registered.
    auto answer = conn.run("wrap", R"({"n": 2})").get();
    std::cout << "result: " << answer.value() << "\n";
    worker.stop();
    return answer.value() == R"({"pipeline": "wrap", "input": {"n": 2}})" ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "cpp_worker: " << e.what() << "\n";
    return 1;
  }
}
