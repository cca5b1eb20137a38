#pragma once

// A blocking gRPC test peer on the generated stub: one EstablishConnection stream, read by a
// thread of its own so that every wait of a test is bounded.

#include "reasonchip.grpc.pb.h"

#include <condition_variable>
#include <deque>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace rcbroker::test_support {

using grpc_packet = reasonchip::ReasonChipPacket;

/// One stream to the node under test.
class grpc_peer {
public:
  /// Opens a stream to `url` (grpc://HOST:PORT plain; grpcs://HOST:PORT with `credentials`, and
  /// the certificate checked for the name "localhost").
  explicit grpc_peer(const std::string& url,
                     std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  ~grpc_peer();

  grpc_peer(const grpc_peer&) = delete;
  grpc_peer& operator=(const grpc_peer&) = delete;

  /// Writes one message; false when the stream is gone.
  bool send(const grpc_packet& p);

  /// The next message; nullopt on timeout or when the stream ended.
  std::optional<grpc_packet> receive(int timeout_ms = 5000);

  /// The stream's status once it ended (within `timeout_ms`), reading and dropping messages.
  std::optional<grpc::Status> ended(int timeout_ms = 5000);

  /// Cancels the stream now (an abrupt disconnect).
  void cancel();

private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<reasonchip::ReasonChipService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<grpc_packet, grpc_packet>> stream_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<grpc_packet> received_;
  std::optional<grpc::Status> status_;
  std::mutex write_mu_;
  std::thread reader_;
};

/// A RUN as a gRPC client sends it.
grpc_packet grpc_run(const std::string& cookie, const std::string& pipeline,
                     const std::string& variables_json);

/// A CANCEL as a gRPC client sends it.
grpc_packet grpc_cancel(const std::string& cookie);

/// A REGISTER of `capacity` slots as a gRPC worker sends it.
grpc_packet grpc_register(std::int64_t capacity);

/// A worker's RESULT with rc OK.
grpc_packet grpc_result(const std::string& cookie, const std::string& result_json);

} // namespace rcbroker::test_support
