// Submitting a task from C++ with rcbroker::client::client.
//
// Run: build/examples/submit_task [CLIENT_URL [CA_FILE]]
//   With a URL (e.g. tcp://[::1]:51500 of `scripts/run`, with `build/apps/rcworker` serving)
//   it submits there; without one it starts a node in this process with an echo worker. A
//   tls:// URL's node is verified against CA_FILE (README, "Over TLS"), or the system's CAs.
//   Exits 0 when the echo comes back, 1 otherwise.

#include "local_node.hpp"
#include "rcbroker/actors/actor_client.hpp"
#include "rcbroker/client/client.hpp"

#include <exception>
#include <iostream>
#include <optional>

int main(int argc, char** argv) {
  std::optional<examples::local_node> node;
  std::string url;
  if (argc > 1) {
    url = argv[1];
  } else {
    node.emplace();
    rcbroker::actors::spawn_actor_worker(
        node->get().system(), node->get().switchboard(), 1,
        [](const std::string&, const std::string& variables) { return variables; });
    url = node->client_url();
  }
  try {
    rcbroker::client::client_options options;
    if (argc > 2)
      options.tls.ca_file = argv[2];                     // for tls:// URLs
    rcbroker::client::client conn{url, options};         // throws connect_error
    auto answer = conn.run("echo", R"({"x": 1})").get(); // a task_result
    std::cout << "result: " << answer.value() << "\n";   // throws task_error unless OK
    return answer.value() == R"({"x": 1})" ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "submit_task: " << e.what() << "\n";
    return 1;
  }
}
