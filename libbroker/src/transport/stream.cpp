#include "broker/transport/stream.hpp"

#include "tls_socket.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>

namespace broker::transport {

namespace asio = boost::asio;

namespace {

constexpr std::size_t read_buffer_size = 64 * 1024;

// A TLS write takes queued frames up to this many bytes (a larger frame goes alone), so the copy
// into one buffer stays small whatever is queued.
constexpr std::size_t tls_batch_max = 256 * 1024;

// A TLS batch buffer above this size (one large frame) is released after its write.
constexpr std::size_t tls_batch_kept = 1024 * 1024;

std::string describe(std::chrono::milliseconds d) {
  auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

} // namespace

stream::stream(socket_type socket, limits lim, std::string name)
    : socket_(std::move(socket)), idle_timer_(socket_.get_executor()), limits_(lim),
      name_(std::move(name)), decoder_(lim.max_frame_size), read_buffer_(new char[read_buffer_size]) {}

stream::stream(std::unique_ptr<tls_socket> tls, limits lim, std::string name)
    : socket_(tls->ssl.get_executor()), tls_(std::move(tls)), idle_timer_(socket_.get_executor()),
      limits_(lim), name_(std::move(name)), decoder_(lim.max_frame_size),
      read_buffer_(new char[read_buffer_size]) {}

stream::~stream() = default;

void stream::start(handlers h) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), h = std::move(h)]() mutable {
    if (self->closed_)
      return;
    self->handlers_ = std::move(h);
    if (self->limits_.idle_timeout.count() > 0) {
      self->last_read_ = std::chrono::steady_clock::now();
      self->watch_idle(self->limits_.idle_timeout);
    }
    self->read_some();
  });
}

void stream::read_some() {
  auto handler = [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
    self->on_read(ec, n);
  };
  if (tls_)
    tls_->ssl.async_read_some(asio::buffer(read_buffer_.get(), read_buffer_size), std::move(handler));
  else
    socket_.async_read_some(asio::buffer(read_buffer_.get(), read_buffer_size), std::move(handler));
}

void stream::on_read(boost::system::error_code ec, std::size_t n) {
  if (closed_)
    return;
  if (ec) {
    // A TLS peer that closes without close_notify ends with stream_truncated: a close all the same.
    bool peer_closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    fail(peer_closed ? "peer closed the connection" : ec.message());
    return;
  }
  if (limits_.idle_timeout.count() > 0)
    last_read_ = std::chrono::steady_clock::now();
  std::vector<protocol::frame> frames;
  auto st = decoder_.feed(read_buffer_.get(), n, frames);
  if (!frames.empty() && handlers_.on_frames)
    handlers_.on_frames(std::move(frames));
  if (st == protocol::frame_decoder::status::too_large) {
    fail("frame of " + std::to_string(decoder_.rejected_length()) +
         " bytes exceeds max-frame-size " + std::to_string(limits_.max_frame_size));
    return;
  }
  read_some();
}

void stream::watch_idle(std::chrono::steady_clock::duration wait) {
  // Re-armed from the last read when it fires, instead of reset at every read: reads stay cheap.
  idle_timer_.expires_after(wait);
  idle_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_)
      return;
    auto idle = std::chrono::steady_clock::now() - self->last_read_;
    if (idle >= self->limits_.idle_timeout) {
      self->fail("no bytes read for " + describe(self->limits_.idle_timeout) + " (idle-timeout)");
      return;
    }
    self->watch_idle(self->limits_.idle_timeout - idle);
  });
}

void stream::write(protocol::frame f) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), f = std::move(f)]() mutable {
    self->enqueue(std::move(f));
    self->write_queued();
  });
}

void stream::write(std::vector<protocol::frame> frames) {
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), frames = std::move(frames)]() mutable {
               for (auto& f : frames)
                 self->enqueue(std::move(f));
               self->write_queued();
             });
}

void stream::enqueue(protocol::frame f) {
  if (closed_ || closing_)
    return;
  queued_bytes_ += f.payload().size() + 4;
  queue_.push_back(std::move(f));
  if (queued_bytes_ > limits_.max_write_queue)
    fail("write queue exceeded " + std::to_string(limits_.max_write_queue) +
         " bytes (the peer does not read)");
}

void stream::write_queued() {
  if (writing_ || closed_)
    return;
  if (queue_.empty()) {
    if (closing_)
      fail("closed by the broker");
    return;
  }
  writing_ = true;
  auto done = [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
    self->on_written(ec);
  };
  if (tls_) {
    // Asio's TLS stream writes a buffer sequence one buffer (one TLS record) at a time: in one
    // buffer, a frame's 4-byte header does not cost a record of its own.
    tls_batch_.clear();
    while (!queue_.empty() && tls_batch_.size() < tls_batch_max) {
      auto payload = queue_.front().payload();
      auto header = protocol::encode_length(static_cast<std::uint32_t>(payload.size()));
      tls_batch_.insert(tls_batch_.end(), header.begin(), header.end());
      tls_batch_.insert(tls_batch_.end(), payload.begin(), payload.end());
      queued_bytes_ -= payload.size() + 4;
      queue_.pop_front();
    }
    asio::async_write(tls_->ssl, asio::buffer(tls_batch_), std::move(done));
    return;
  }
  in_flight_.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  queued_bytes_ = 0; // counts what waits behind the write under way
  headers_.resize(in_flight_.size());
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(in_flight_.size() * 2);
  for (std::size_t i = 0; i < in_flight_.size(); ++i) {
    auto payload = in_flight_[i].payload();
    headers_[i] = protocol::encode_length(static_cast<std::uint32_t>(payload.size()));
    buffers.emplace_back(headers_[i].data(), headers_[i].size());
    buffers.emplace_back(payload.data(), payload.size());
  }
  asio::async_write(socket_, buffers, std::move(done));
}

void stream::on_written(boost::system::error_code ec) {
  writing_ = false;
  in_flight_.clear();
  if (tls_batch_.capacity() > tls_batch_kept)
    std::vector<char>{}.swap(tls_batch_);
  if (closed_)
    return;
  if (ec) {
    fail("write failed: " + ec.message());
    return;
  }
  write_queued();
}

void stream::close_after_flush() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    self->write_queued();
  });
}

void stream::close(std::string reason) {
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), reason = std::move(reason)]() mutable {
               self->fail(std::move(reason));
             });
}

void stream::fail(std::string reason) {
  if (closed_)
    return;
  closed_ = true;
  idle_timer_.cancel();
  // No TLS close_notify: it would need a write and a wait; the peer sees the TCP close instead.
  auto& socket = tls_ ? tls_->ssl.next_layer() : socket_;
  boost::system::error_code ignored;
  socket.shutdown(socket_type::shutdown_both, ignored);
  socket.close(ignored);
  queue_.clear();
  queued_bytes_ = 0;
  auto on_closed = std::move(handlers_.on_closed);
  handlers_ = {};
  if (on_closed)
    on_closed(std::move(reason));
}

} // namespace broker::transport
