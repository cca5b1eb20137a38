#include "grpc_peer.hpp"

#include <chrono>

namespace rcbroker::test_support {

grpc_peer::grpc_peer(const std::string& url,
                     std::shared_ptr<grpc::ChannelCredentials> credentials) {
  auto at = url.find("://");
  auto target = url.substr(at + 3);
  grpc::ChannelArguments args;
  if (!credentials)
    credentials = grpc::InsecureChannelCredentials();
  else
    args.SetSslTargetNameOverride("localhost");
  channel_ = grpc::CreateCustomChannel(target, credentials, args);
  stub_ = reasonchip::ReasonChipService::NewStub(channel_);
  context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds{60});
  stream_ = stub_->EstablishConnection(&context_);
  reader_ = std::thread{[this] {
    grpc_packet p;
    while (stream_->Read(&p)) {
      std::lock_guard lock{mu_};
      received_.push_back(std::move(p));
      changed_.notify_all();
    }
    grpc::Status status;
    {
      std::lock_guard lock{write_mu_};
      status = stream_->Finish();
    }
    std::lock_guard lock{mu_};
    status_ = status;
    changed_.notify_all();
  }};
}

grpc_peer::~grpc_peer() {
  context_.TryCancel();
  reader_.join();
}

bool grpc_peer::send(const grpc_packet& p) {
  std::lock_guard lock{write_mu_};
  {
    std::lock_guard state{mu_};
    if (status_)
      return false;
  }
  return stream_->Write(p);
}

std::optional<grpc_packet> grpc_peer::receive(int timeout_ms) {
  std::unique_lock lock{mu_};
  changed_.wait_for(lock, std::chrono::milliseconds{timeout_ms},
                    [&] { return !received_.empty() || status_; });
  if (received_.empty())
    return std::nullopt;
  auto p = std::move(received_.front());
  received_.pop_front();
  return p;
}

std::optional<grpc::Status> grpc_peer::ended(int timeout_ms) {
  std::unique_lock lock{mu_};
  changed_.wait_for(lock, std::chrono::milliseconds{timeout_ms},
                    [&] { return status_.has_value(); });
  received_.clear();
  return status_;
}

void grpc_peer::cancel() {
  context_.TryCancel();
}

grpc_packet grpc_run(const std::string& cookie, const std::string& pipeline,
                     const std::string& variables_json) {
  grpc_packet p;
  p.set_packet_type("RUN");
  p.mutable_cookie()->set_value(cookie);
  p.set_pipeline(pipeline);
  p.set_variables(variables_json);
  return p;
}

grpc_packet grpc_cancel(const std::string& cookie) {
  grpc_packet p;
  p.set_packet_type("CANCEL");
  p.mutable_cookie()->set_value(cookie);
  return p;
}

grpc_packet grpc_register(std::int64_t capacity) {
  grpc_packet p;
  p.set_packet_type("REGISTER");
  p.set_capacity(capacity);
  return p;
}

grpc_packet grpc_result(const std::string& cookie, const std::string& result_json) {
  grpc_packet p;
  p.set_packet_type("RESULT");
  p.mutable_cookie()->set_value(cookie);
  p.set_rc("OK");
  p.set_result(result_json);
  return p;
}

} // namespace rcbroker::test_support
