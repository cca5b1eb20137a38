// An actor worker on a remote CAF node: a second actor system joins a node's cluster face over
// CAF's middleman and serves its tasks, without the wire protocol.
//
// Run: build/examples/remote_actor_worker [HOST PORT]
//   With HOST PORT (a node started with `rcbroker --cluster-port PORT`) it serves that node
//   until the node goes away; without them it starts a node in this process, publishes a
//   cluster face on 127.0.0.1, joins it from a second actor system, submits one task through
//   the node's client endpoint and exits 0 when the remote worker's answer comes back.

#include "local_node.hpp"
#include "rcbroker/actors/actor_client.hpp"
#include "rcbroker/client/client.hpp"
#include "rcbroker/cluster/clustering.hpp"
#include "rcbroker/cluster/face.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <exception>
#include <iostream>

namespace {

/// The remote worker's work: tags the variables with where it ran.
std::string handle(const std::string&, const std::string& variables) {
  return R"({"remote": )" + variables + "}";
}

/// Joins the cluster face published at `host`:`port` from `sys` with a worker of two slots.
caf::expected<rcbroker::actors::peer_actor> join(caf::actor_system& sys, const std::string& host,
                                                 std::uint16_t port) {
  auto face = sys.middleman().remote_actor<rcbroker::actors::cluster_face_actor>(host, port);
  if (!face)
    return face.error();
  return rcbroker::actors::spawn_actor_worker(sys, *face, 2, handle);
}

} // namespace

int main(int argc, char** argv) {
  // The worker's node: an actor system of its own, able to talk to other nodes.
  caf::actor_system_config cfg;
  rcbroker::cluster::enable_clustering(cfg); // the middleman and the types crossing nodes
  if (argc > 2) {
    caf::actor_system sys{cfg};
    auto worker = join(sys, argv[1], static_cast<std::uint16_t>(std::stoi(argv[2])));
    if (!worker) {
      std::cerr << "cannot join: " << sys.render(worker.error()) << "\n";
      return 1;
    }
    return 0; // ~actor_system waits until the worker ends (SHUTDOWN or the node going away)
  }
  try {
    void (*prepare)(caf::actor_system_config&) = rcbroker::cluster::enable_clustering;
    examples::local_node node{prepare};
    auto& node_sys = node.get().system();
    // What `rcbroker --cluster-port` publishes, on a port the kernel picks.
    auto face = rcbroker::cluster::spawn_face(node_sys, node.get().switchboard(), {});
    auto port = node_sys.middleman().publish(face, 0, "127.0.0.1");
    if (!port) {
      std::cerr << "cannot publish: " << node_sys.render(port.error()) << "\n";
      return 1;
    }
    caf::actor_system sys{cfg};
    auto worker = join(sys, "127.0.0.1", *port);
    if (!worker) {
      std::cerr << "cannot join: " << sys.render(worker.error()) << "\n";
      return 1;
    }
    rcbroker::client::client conn{node.client_url()};
    auto answer = conn.run("echo", R"({"n": 7})").get();
    std::cout << "result: " << answer.value() << "\n";
    caf::anon_send_exit(*worker, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(face, caf::exit_reason::user_shutdown); // published: must end
    return answer.value() == R"({"remote": {"n": 7}})" ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "remote_actor_worker: " << e.what() << "\n";
    return 1;
  }
}
