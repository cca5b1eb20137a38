// A user's program against an installed rcbroker: it parses an endpoint, builds client and worker
// options and a worker, and fails to connect to a socket that is not there, as the library says.
// Prints "consumer ok" and exits 0 when all of it behaved.

#include <iostream>
#include <rcbroker/client/client.hpp>
#include <rcbroker/client/worker.hpp>
#include <rcbroker/transport/endpoint.hpp>
#include <string>

namespace {

bool check(bool ok, const std::string& what) {
  if (!ok)
    std::cerr << "consumer: " << what << "\n";
  return ok;
}

} // namespace

int main(int argc, char** argv) {
  std::string missing = argc > 1 ? argv[1] : "/nonexistent/rcbroker-consumer.sock";
  bool ok = true;

  auto parsed = rcbroker::transport::parse_endpoint("tcp://[::1]:51500",
                                                    rcbroker::transport::default_client_port);
  ok &= check(parsed.value && parsed.value->port == 51500 && parsed.value->is_framed(),
              "tcp://[::1]:51500 did not parse: " + parsed.error);

  rcbroker::client::client_options options;
  options.connect_timeout = std::chrono::milliseconds{2000};
  try {
    rcbroker::client::client c{"socket://" + missing, options};
    ok &= check(false, "connected to a socket that is not there");
  } catch (const rcbroker::client::connect_error& e) {
    ok &= check(!e.permanent(), std::string{"a missing socket is not transient: "} + e.what());
  }

  rcbroker::client::worker_options worker_options;
  worker_options.endpoint = "socket://" + missing;
  rcbroker::client::worker w{worker_options,
                             [](rcbroker::client::task_context& t) { return t.variables(); }};
  ok &= check(w.registrations() == 0, "a worker that never started registered");

  if (ok)
    std::cout << "consumer ok\n";
  return ok ? 0 : 1;
}
