#include "rcbroker/transport/grpc_listener.hpp"

#include "grpc_packet.hpp"
#include "rcbroker/logging/component.hpp"
#include "reasonchip.grpc.pb.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <fstream>
#include <grpcpp/grpcpp.h>
#include <mutex>
#include <optional>
#include <spdlog/spdlog.h>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace rcbroker::transport {

namespace asio = boost::asio;
using message = reasonchip::ReasonChipPacket;

namespace {

spdlog::logger& connection_log() {
  return logging::logger(logging::component::connection);
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream text;
  if (!in || !(text << in.rdbuf()))
    throw std::runtime_error("cannot read " + std::string{what} + " " + path);
  return text.str();
}

// gRPC names a peer "ipv4:127.0.0.1:40122" or "ipv6:[::1]:40122" (brackets maybe escaped).
std::string peer_name(const char* scheme, std::string peer) {
  for (auto prefix : {"ipv4:", "ipv6:"}) {
    if (peer.rfind(prefix, 0) == 0) {
      peer.erase(0, 5);
      break;
    }
  }
  for (auto [escaped, plain] : {std::pair{"%5B", "["}, std::pair{"%5D", "]"}}) {
    for (auto at = peer.find(escaped); at != std::string::npos; at = peer.find(escaped))
      peer.replace(at, 3, plain);
  }
  return std::string{scheme} + " " + peer;
}

/// One stream: gRPC's reactor, which gRPC's threads call, and the state its channel shares.
/// gRPC calls (StartRead, StartWrite, Finish) are made under `mu_`, and never once the stream
/// is finished, so none can come after OnDone. What the owner sees runs on the io thread.
class bidi final : public grpc::ServerBidiReactor<message, message> {
public:
  bidi(asio::io_context& ioc, const stream::limits& limits) : ioc_(ioc), limits_(limits) {}

  std::shared_ptr<bidi> self;    // gRPC's reference, dropped at OnDone
  std::weak_ptr<bidi> weak_self; // for the handlers it posts to the io thread

  // -- io thread --

  void start(channel::handlers h) {
    handlers_ = std::move(h);
    started_ = true;
    if (closed_before_start_) {
      report_closed(std::move(*closed_before_start_));
      return;
    }
    last_read_ = std::chrono::steady_clock::now();
    if (limits_.first_packet_timeout.count() > 0)
      first_packet_timer_ = watch(limits_.first_packet_timeout, [](bidi& s) {
        s.close("no packet within " + std::to_string(s.limits_.first_packet_timeout.count()) +
                " ms of connecting (first-packet-timeout)");
      });
    if (limits_.idle_timeout.count() > 0)
      watch_idle(limits_.idle_timeout);
    read_next();
  }

  void consumed() { read_next(); }

  void send(protocol::frame f) {
    message m;
    if (auto error = to_message(f, m); !error.empty()) {
      connection_log().warn("{}: a packet for it is no packet ({}); dropped", name_, error);
      return;
    }
    std::lock_guard lock{mu_};
    if (finished_)
      return;
    if (!write_in_flight_) {
      writing_ = std::move(m);
      write_in_flight_ = true;
      StartWrite(&writing_);
      return;
    }
    queued_bytes_ += m.ByteSizeLong();
    queue_.push_back(std::move(m));
    if (queued_bytes_ > limits_.max_write_queue)
      finish_locked(
          grpc::Status{grpc::StatusCode::RESOURCE_EXHAUSTED, "the peer does not read its packets"},
          "write queue over max-write-queue (" + std::to_string(limits_.max_write_queue) +
              " bytes)");
  }

  // -- any thread --

  void close_after_flush() {
    std::lock_guard lock{mu_};
    if (write_in_flight_)
      finish_after_flush_ = true;
    else
      finish_locked(grpc::Status::OK, "closed by the broker");
  }

  void close(std::string reason) {
    std::lock_guard lock{mu_};
    finish_locked(grpc::Status{grpc::StatusCode::UNAVAILABLE, reason}, reason);
  }

  void set_name(std::string name) { name_ = std::move(name); }

  // -- gRPC's threads --

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::lock_guard lock{mu_};
      reading_ = false;
      finish_locked(grpc::Status::OK, "the peer ended its stream");
      return;
    }
    auto f = to_frame(reading_message_);
    {
      std::lock_guard lock{mu_};
      reading_ = false;
    }
    asio::post(ioc_, [s = weak_self.lock(), f = std::move(f)]() mutable {
      if (s->reported_closed_)
        return;
      s->first_packet_timer_.reset();
      s->last_read_ = std::chrono::steady_clock::now();
      std::vector<protocol::frame> batch;
      batch.push_back(std::move(f));
      if (!s->handlers_.acknowledge_batches)
        s->read_next();
      s->handlers_.on_frames(std::move(batch));
    });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock{mu_};
    write_in_flight_ = false;
    if (!ok) {
      finish_locked(grpc::Status::CANCELLED, "the stream broke");
      return;
    }
    if (finished_)
      return;
    if (!queue_.empty()) {
      writing_ = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= std::min(queued_bytes_, writing_.ByteSizeLong());
      write_in_flight_ = true;
      StartWrite(&writing_);
    } else if (finish_after_flush_) {
      finish_locked(grpc::Status::OK, "closed by the broker");
    }
  }

  void OnCancel() override {
    std::lock_guard lock{mu_};
    finish_locked(grpc::Status::CANCELLED, "the peer cancelled its stream");
  }

  void OnDone() override {
    auto keep = std::move(self); // this reactor goes with the last of its posted handlers
    post_closed("the stream ended");
  }

private:
  // Under mu_. Finishes the RPC once, and tells the owner (on the io thread) why.
  void finish_locked(grpc::Status status, std::string reason) {
    if (finished_)
      return;
    finished_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    Finish(std::move(status));
    post_closed(std::move(reason));
  }

  void post_closed(std::string reason) {
    auto s = weak_self.lock();
    if (!s)
      return;
    asio::post(ioc_, [s, reason = std::move(reason)]() mutable {
      if (!s->started_) {
        if (!s->closed_before_start_)
          s->closed_before_start_ = std::move(reason);
        return;
      }
      s->report_closed(std::move(reason));
    });
  }

  // io thread.
  void read_next() {
    std::lock_guard lock{mu_};
    if (finished_ || reading_)
      return;
    reading_ = true;
    reading_message_.Clear();
    StartRead(&reading_message_);
  }

  // io thread: a timer calling `fire` after `wait` unless the stream is closed by then.
  template <class Fire>
  std::unique_ptr<asio::steady_timer> watch(std::chrono::steady_clock::duration wait, Fire fire) {
    auto timer = std::make_unique<asio::steady_timer>(ioc_, wait);
    timer->async_wait([w = weak_self, fire](boost::system::error_code ec) {
      auto s = w.lock();
      if (!ec && s && !s->reported_closed_)
        fire(*s);
    });
    return timer;
  }

  // io thread. Re-armed from the last read when it fires, as a socket's idle timer is.
  void watch_idle(std::chrono::steady_clock::duration wait) {
    idle_timer_ = watch(wait, [](bidi& s) {
      auto idle = std::chrono::steady_clock::now() - s.last_read_;
      if (idle >= s.limits_.idle_timeout)
        s.close("no packet for " + std::to_string(s.limits_.idle_timeout.count()) +
                " ms (idle-timeout)");
      else
        s.watch_idle(s.limits_.idle_timeout - idle);
    });
  }

  // io thread: on_closed once, then the owner's handlers go (they may hold the owner).
  void report_closed(std::string reason) {
    if (reported_closed_)
      return;
    reported_closed_ = true;
    first_packet_timer_.reset();
    idle_timer_.reset();
    auto on_closed = std::move(handlers_.on_closed);
    handlers_ = {};
    if (on_closed)
      on_closed(std::move(reason));
  }

  asio::io_context& ioc_;
  const stream::limits limits_;
  std::string name_;
  std::recursive_mutex mu_; // gRPC may run a reaction inline, inside a call made under it
  message reading_message_;
  message writing_;
  std::deque<message> queue_;
  std::size_t queued_bytes_ = 0;
  bool reading_ = false;
  bool write_in_flight_ = false;
  bool finish_after_flush_ = false;
  bool finished_ = false;
  // io thread only.
  channel::handlers handlers_;
  std::optional<std::string> closed_before_start_;
  bool started_ = false;
  bool reported_closed_ = false;
  std::chrono::steady_clock::time_point last_read_;
  std::unique_ptr<asio::steady_timer> first_packet_timer_; // until the first packet
  std::unique_ptr<asio::steady_timer> idle_timer_;
};

/// The channel a connection actor owns: the stream's reactor seen from the io thread.
class grpc_channel final : public channel {
public:
  grpc_channel(std::string name, std::shared_ptr<bidi> stream)
      : channel(std::move(name)), stream_(std::move(stream)) {}

  ~grpc_channel() override { stream_->close("the channel was dropped"); }

  void start(handlers h) override { stream_->start(std::move(h)); }
  void send(protocol::frame f) override { stream_->send(std::move(f)); }
  void consumed() override { stream_->consumed(); }
  void close_after_flush() override { stream_->close_after_flush(); }
  void close(std::string reason) override { stream_->close(std::move(reason)); }

private:
  std::shared_ptr<bidi> stream_;
};

} // namespace

struct grpc_listener::server final : reasonchip::ReasonChipService::CallbackService,
                                     std::enable_shared_from_this<server> {
  server(asio::io_context& io, endpoint where, grpc_listener_options opts)
      : ioc(io), ep(std::move(where)), options(std::move(opts)) {}

  grpc::ServerBidiReactor<message, message>*
  EstablishConnection(grpc::CallbackServerContext* context) override {
    auto stream = std::make_shared<bidi>(ioc, options.limits);
    stream->self = stream;
    stream->weak_self = stream;
    auto name = peer_name(ep.scheme(), context->peer());
    stream->set_name(name);
    auto ch = std::make_shared<grpc_channel>(std::move(name), stream);
    asio::post(ioc, [self = shared_from_this(), ch = std::move(ch)]() mutable {
      if (self->stopped)
        ch->close("the listener stopped");
      else if (!self->on_accept)
        self->waiting.push_back(std::move(ch));
      else
        self->on_accept(std::move(ch));
    });
    return stream.get();
  }

  // Shuts the gRPC server down once, waiting up to the grace for open streams.
  void shut_down() {
    std::call_once(shutdown_once, [this] {
      grpc_server->Shutdown(std::chrono::system_clock::now() + options.shutdown_grace);
    });
  }

  asio::io_context& ioc;
  endpoint ep;
  grpc_listener_options options;
  std::unique_ptr<grpc::Server> grpc_server;
  int port = 0;
  std::once_flag shutdown_once;
  std::thread shutdown_thread;
  std::mutex shutdown_thread_mu;
  // io thread only.
  accept_handler on_accept;
  std::vector<channel_ptr> waiting;
  bool stopped = false;
};

grpc_listener::grpc_listener(asio::io_context& ioc, endpoint ep, grpc_listener_options opts)
    : server_(std::make_shared<server>(ioc, std::move(ep), std::move(opts))) {
  auto& s = *server_;
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (s.ep.type == endpoint::kind::grpcs) {
    if (s.options.tls_cert.empty() || s.options.tls_key.empty())
      throw std::runtime_error(s.ep.to_string() +
                               " needs a TLS certificate and key (tls-cert, tls-key)");
    auto& o = s.options;
    grpc::SslServerCredentialsOptions ssl{
        o.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY};
    if (!o.tls_client_ca.empty())
      ssl.pem_root_certs = read_file(o.tls_client_ca, "tls-client-ca");
    ssl.pem_key_cert_pairs.push_back(
        {read_file(o.tls_key, "tls-key"), read_file(o.tls_cert, "tls-cert")});
    credentials = grpc::SslServerCredentials(ssl);
  } else if (s.ep.type == endpoint::kind::grpc) {
    credentials = grpc::InsecureServerCredentials();
  } else {
    throw std::runtime_error(s.ep.to_string() + " is no grpc:// or grpcs:// endpoint");
  }
  auto host = s.ep.host.find(':') != std::string::npos ? "[" + s.ep.host + "]" : s.ep.host;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(host + ":" + std::to_string(s.ep.port), credentials, &s.port);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<std::size_t>(s.options.limits.max_frame_size, INT32_MAX)));
  // Without SO_REUSEPORT a second node on the same port fails to bind, as a socket endpoint does.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&s);
  s.grpc_server = builder.BuildAndStart();
  if (!s.grpc_server || s.port == 0)
    throw std::runtime_error("cannot bind " + s.ep.to_string() +
                             " (gRPC could not listen there: address in use or not local?)");
}

grpc_listener::~grpc_listener() {
  server_->shut_down();
  std::lock_guard lock{server_->shutdown_thread_mu};
  if (server_->shutdown_thread.joinable())
    server_->shutdown_thread.join();
}

void grpc_listener::start(accept_handler on_accept) {
  asio::post(server_->ioc, [s = server_, h = std::move(on_accept)]() mutable {
    s->on_accept = std::move(h);
    for (auto& ch : s->waiting)
      s->on_accept(std::move(ch));
    s->waiting.clear();
  });
}

void grpc_listener::stop() {
  asio::post(server_->ioc, [s = server_] {
    if (s->stopped)
      return;
    s->stopped = true;
    s->on_accept = nullptr;
    for (auto& ch : s->waiting)
      ch->close("the listener stopped");
    s->waiting.clear();
  });
  // Shutdown blocks until the open streams end, which takes the io thread: not here.
  std::lock_guard lock{server_->shutdown_thread_mu};
  if (!server_->shutdown_thread.joinable())
    server_->shutdown_thread = std::thread{[s = server_] { s->shut_down(); }};
}

std::string grpc_listener::bound_url() const {
  auto ep = server_->ep;
  ep.port = static_cast<std::uint16_t>(server_->port);
  return ep.to_string();
}

} // namespace rcbroker::transport
