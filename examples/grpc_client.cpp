// Running a task over the gRPC transport with the stub generated from proto/reasonchip.proto.
//
// Run: build/examples/grpc_client [HOST:PORT]
//   With an address (a node's grpc:// client endpoint, e.g. 127.0.0.1:51501, with a worker
//   serving "echo") it submits there; without one it starts a node in this process with a
//   grpc:// client endpoint and an echo worker. Exits 0 when the echo comes back, 1 otherwise.

#include "local_node.hpp"
#include "rcbroker/actors/actor_client.hpp"
#include "reasonchip.grpc.pb.h"

#include <chrono>
#include <grpcpp/grpcpp.h>
#include <iostream>
#include <optional>

int main(int argc, char** argv) {
  std::optional<examples::local_node> node;
  std::string address;
  if (argc > 1) {
    address = argv[1];
  } else {
    node.emplace(
        [](caf::actor_system_config&) {},
        [](rcbroker::node::settings& s) { s.client_endpoints.push_back("grpc://127.0.0.1:0"); });
    rcbroker::actors::spawn_actor_worker(
        node->get().system(), node->get().switchboard(), 1,
        [](const std::string&, const std::string& variables) { return variables; });
    auto url = node->get().client_urls().at(1); // grpc://127.0.0.1:PORT
    address = url.substr(url.find("://") + 3);
  }
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = reasonchip::ReasonChipService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds{30});
  auto stream = stub->EstablishConnection(&context); // one stream: one client connection

  reasonchip::ReasonChipPacket run;
  run.set_packet_type("RUN");
  run.mutable_cookie()->set_value("0b5f2f2a-5f0c-4d6e-9a43-2b7f3c1d9e10");
  run.set_pipeline("echo");
  run.set_variables(R"({"x": 1})"); // JSON text, as on a socket
  reasonchip::ReasonChipPacket result;
  if (!stream->Write(run) || !stream->Read(&result)) {
    std::cerr << "grpc_client: the stream ended: " << stream->Finish().error_message() << "\n";
    return 1;
  }
  std::cout << "rc: " << result.rc() << ", result: " << result.result() << "\n";
  stream->WritesDone(); // this client is done: the node ends the stream
  auto status = stream->Finish();
  return status.ok() && result.rc() == "OK" && result.result() == R"({"x": 1})" ? 0 : 1;
}
