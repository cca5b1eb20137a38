#pragma once

#include "rcbroker/transport/endpoint.hpp"
#include "rcbroker/transport/listener.hpp"
#include "rcbroker/transport/stream.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace rcbroker::transport {

/// How a gRPC listener treats its streams.
struct grpc_listener_options {
  /// `max_frame_size` bounds a received message, `max_write_queue` the bytes queued for a peer;
  /// the timeouts count whole messages (a stream has no bytes of its own to count).
  stream::limits limits;
  /// grpcs:// only: PEM files of the node's certificate and key, and of the CA that client
  /// certificates must be signed by (empty: no client certificate asked for).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  /// After `stop`, streams still open get this long before gRPC cancels them.
  std::chrono::milliseconds shutdown_grace{5000};
};

/// A gRPC server on one grpc:// or grpcs:// endpoint serving the original's
/// `reasonchip.ReasonChipService/EstablishConnection`: each bidirectional stream of
/// `ReasonChipPacket`s is one channel, its messages mapped to and from the JSON packets of the
/// wire protocol (docs/PROTOCOL.md, "gRPC mapping"). gRPC's own threads run the streams and hand
/// received packets to the io thread; a stream's peer is named e.g. "grpc 127.0.0.1:40122".
class grpc_listener final : public listener {
public:
  /// Binds and starts serving now (streams wait for `start`); throws std::runtime_error with a
  /// message for the operator when the endpoint cannot be bound or the TLS files not read.
  grpc_listener(boost::asio::io_context& ioc, endpoint ep, grpc_listener_options opts);

  /// Shuts the gRPC server down (blocks up to the shutdown grace; not on the io thread).
  ~grpc_listener() override;

  /// Starts accepting; every new stream goes to `on_accept` on the io thread.
  void start(accept_handler on_accept) override;

  /// Stops accepting: the gRPC server shuts down on a thread of its own, giving open streams
  /// the shutdown grace (thread-safe, idempotent).
  void stop() override;

  /// The endpoint actually bound (with the real port when the configured port was 0).
  std::string bound_url() const override;

private:
  struct server;
  std::shared_ptr<server> server_;
};

} // namespace rcbroker::transport
