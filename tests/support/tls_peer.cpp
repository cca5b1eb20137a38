#include "tls_peer.hpp"

#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/transport/endpoint.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <stdexcept>

namespace rcbroker::test_support {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

struct tls_peer::impl {
  using completion = std::function<void(error_code)>;

  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  std::optional<ssl::stream<asio::ip::tcp::socket>> stream; // made once `ctx` is set up
  std::string buffer;
  bool ended = false;

  // Runs one asynchronous operation to its end, or cancels it after `timeout_ms` (timed_out).
  error_code run(const std::function<void(completion)>& start, int timeout_ms) {
    bool done = false;
    error_code result;
    start([&](error_code ec) {
      done = true;
      result = ec;
    });
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds{timeout_ms});
    if (done)
      return result;
    error_code ignored;
    stream->lowest_layer().cancel(ignored);
    ioc.restart();
    ioc.run();
    return asio::error::timed_out;
  }
};

tls_peer::tls_peer(const std::string& url, const tls_peer_files& files, int timeout_ms)
    : impl_(std::make_unique<impl>()) {
  auto ep = transport::parse_endpoint(url, 0);
  if (!ep.value || ep.value->type != transport::endpoint::kind::tls)
    throw std::runtime_error("not a tls:// URL: " + url);
  auto& ctx = impl_->ctx;
  error_code ec;
  if (!files.ca.empty()) {
    ctx.load_verify_file(files.ca, ec);
    ctx.set_verify_mode(ssl::verify_peer);
  }
  if (!ec && !files.cert.empty())
    ctx.use_certificate_chain_file(files.cert, ec);
  if (!ec && !files.key.empty())
    ctx.use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error("test TLS files: " + ec.message());
  auto& stream = impl_->stream.emplace(impl_->ioc, ctx);

  asio::ip::tcp::resolver resolver{impl_->ioc};
  auto addresses = resolver.resolve(ep.value->host, std::to_string(ep.value->port), ec);
  if (!ec)
    asio::connect(stream.next_layer(), addresses, ec);
  if (ec)
    throw std::runtime_error("cannot connect to " + url + ": " + ec.message());
  stream.next_layer().set_option(asio::ip::tcp::no_delay(true), ec);
  ec = impl_->run(
      [&](impl::completion done) { stream.async_handshake(ssl::stream_base::client, done); },
      timeout_ms);
  if (ec)
    throw std::runtime_error("TLS handshake with " + url + " failed: " + ec.message());
}

tls_peer::~tls_peer() = default;

void tls_peer::send(std::string_view payload) {
  auto bytes = protocol::encode_frame(payload);
  auto ec = impl_->run(
      [&](impl::completion done) {
        asio::async_write(*impl_->stream, asio::buffer(bytes),
                          [done](error_code e, std::size_t) { done(e); });
      },
      5000);
  if (ec)
    throw std::runtime_error("TLS send failed: " + ec.message());
}

std::optional<std::string> tls_peer::receive(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{timeout_ms};
  auto fill = [&](std::size_t need) {
    char chunk[16384];
    while (impl_->buffer.size() < need) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0 || impl_->ended)
        return false;
      std::size_t n = 0;
      auto ec = impl_->run(
          [&](impl::completion done) {
            impl_->stream->async_read_some(asio::buffer(chunk),
                                           [&n, done](error_code e, std::size_t k) {
                                             n = k;
                                             done(e);
                                           });
          },
          static_cast<int>(left));
      if (ec == asio::error::timed_out)
        return false;
      if (ec) {
        impl_->ended = true;
        return false;
      }
      impl_->buffer.append(chunk, n);
    }
    return true;
  };
  if (!fill(4))
    return std::nullopt;
  auto* h = reinterpret_cast<const unsigned char*>(impl_->buffer.data());
  std::size_t len =
      (std::size_t{h[0]} << 24) | (std::size_t{h[1]} << 16) | (std::size_t{h[2]} << 8) | h[3];
  if (!fill(4 + len))
    return std::nullopt;
  std::string payload = impl_->buffer.substr(4, len);
  impl_->buffer.erase(0, 4 + len);
  return payload;
}

bool tls_peer::closed_by_peer(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{timeout_ms};
  while (!impl_->ended && std::chrono::steady_clock::now() < deadline) {
    impl_->buffer.clear();
    receive(50);
  }
  return impl_->ended;
}

} // namespace rcbroker::test_support
