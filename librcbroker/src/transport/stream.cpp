#include "rcbroker/transport/stream.hpp"

#include "rcbroker/transport/write_batch.hpp"
#include "tls_socket.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/defer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

namespace rcbroker::transport {

namespace asio = boost::asio;

namespace {

// A TLS read takes up to this much; the buffer exists only for TLS streams.
constexpr std::size_t tls_read_size = 16 * 1024;

// A TLS write takes queued frames up to this many bytes (a larger frame goes alone), so the copy
// into one buffer stays small whatever is queued.
constexpr std::size_t tls_batch_max = 256 * 1024;

// An output buffer that grew above this size (a large frame to a slow reader) is released once
// it is written.
constexpr std::size_t out_kept = 256 * 1024;

// A plain read starts a new block of the thread when less than this is left in the current one.
constexpr std::size_t min_read_room = 8 * 1024;
static_assert(min_read_room > 2 * 512, "a read must find room for the first bytes and more");

// Frames per gather write (two buffers each; Asio passes at most 64 buffers to one writev).
constexpr std::size_t frames_per_write = 32;

/// The block that plain reads on this thread fill, one after another: the frames of a read are
/// slices of it and keep it alive; when none is left the thread reuses it from the start.
struct read_area {
  protocol::block_ref block;
  std::size_t used = 0;

  /// Room for the next read, at `block->data() + used`, keeping frame_padding readable after it.
  std::size_t prepare() {
    if (block && block->unique())
      used = 0; // every frame of it is gone
    auto usable = protocol::byte_block::pooled_capacity - protocol::frame_padding;
    if (!block || usable - used < min_read_room) {
      block = protocol::block_ref::adopt(protocol::byte_block::allocate_pooled());
      used = 0;
    }
    return usable - used;
  }
};

thread_local read_area area;

std::string describe(std::chrono::milliseconds d) {
  auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

/// A range of buffers for one gather write, without a container.
struct buffer_span {
  using value_type = asio::const_buffer;
  using const_iterator = const asio::const_buffer*;
  const_iterator first;
  const_iterator last;
  const_iterator begin() const noexcept { return first; }
  const_iterator end() const noexcept { return last; }
};

bool would_block(const boost::system::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

} // namespace

stream::stream(socket_type socket, limits lim, std::string name)
    : channel(std::move(name)), socket_(std::move(socket)), limits_(lim),
      decoder_(lim.max_frame_size) {}

stream::stream(std::unique_ptr<tls_socket> tls, limits lim, std::string name)
    : channel(std::move(name)), socket_(tls->ssl.get_executor()), tls_(std::move(tls)),
      limits_(lim), decoder_(lim.max_frame_size) {}

stream::~stream() = default;

asio::any_io_executor stream::executor() {
  return tls_ ? tls_->ssl.get_executor() : socket_.get_executor();
}

void stream::start(handlers h) {
  asio::post(executor(), [self = shared_from_this(), h = std::move(h)]() mutable {
    if (self->closed_)
      return;
    self->handlers_ = std::move(h);
    if (!self->tls_) {
      boost::system::error_code ec;
      self->socket_.non_blocking(true, ec);
      if (ec)
        return self->fail(close_cause::io_error,
                          "cannot make the socket non-blocking: " + ec.message());
    }
    if (self->limits_.idle_timeout.count() > 0) {
      self->idle_timer_ = std::make_unique<asio::steady_timer>(self->executor());
      self->last_read_ = std::chrono::steady_clock::now();
      self->watch_idle(self->limits_.idle_timeout);
    }
    if (self->limits_.first_packet_timeout.count() > 0)
      self->watch_first_packet();
    self->start_reading();
  });
}

// -- reading ------------------------------------------------------------------------------------

void stream::start_reading() {
  if (closed_ || reading_ || read_paused_)
    return;
  if (tls_)
    read_tls();
  else
    read_plain();
}

void stream::read_plain() {
  // Asio tries this read at once when the socket was readable, and otherwise queues it without a
  // system call (a wait for readability would cost an epoll_ctl per read).
  reading_ = true;
  socket_.async_read_some(asio::buffer(first_bytes_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            self->reading_ = false;
                            if (self->closed_)
                              return;
                            if (ec)
                              return self->on_read_error(ec);
                            self->on_first_bytes(n);
                          });
}

void stream::on_first_bytes(std::size_t n) {
  // The first bytes join the thread's block; when they filled first_bytes_, the rest of what
  // waits is read straight into the block.
  auto room = area.prepare();
  auto block = area.block; // the frames of this read keep it, whatever the area does next
  auto* data = block->data() + area.used;
  std::memcpy(data, first_bytes_.data(), n);
  auto total = n;
  boost::system::error_code ec;
  if (n == first_bytes_.size()) {
    total += socket_.read_some(asio::buffer(data + n, room - n), ec);
    if (would_block(ec))
      ec = {};
  }
  area.used += total;
  auto keep = shared_from_this(); // on_frames may drop the owner's last reference
  on_bytes(block, data, total);
  if (closed_)
    return;
  if (ec)
    return on_read_error(ec);
  if (read_paused_)
    return;
  if (total == room) {
    // More may be waiting: read again after the handlers already queued, for fairness.
    reading_ = true;
    asio::defer(executor(), [self = std::move(keep)] {
      self->reading_ = false;
      self->start_reading();
    });
    return;
  }
  read_plain();
}

void stream::read_tls() {
  if (!tls_read_buffer_)
    tls_read_buffer_.reset(new char[tls_read_size]);
  reading_ = true;
  tls_->ssl.async_read_some(
      asio::buffer(tls_read_buffer_.get(), tls_read_size),
      [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        self->reading_ = false;
        if (self->closed_)
          return;
        if (ec)
          return self->on_read_error(ec);
        self->on_bytes({}, self->tls_read_buffer_.get(), n);
        self->start_reading();
      });
}

void stream::on_read_error(const boost::system::error_code& ec) {
  read_error_ = ec;
  // A TLS peer that closes without close_notify ends with stream_truncated: a close all the same.
  bool peer_closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
  if (peer_closed)
    fail(close_cause::peer_closed, "peer closed the connection");
  else
    fail(close_cause::io_error, ec.message());
}

void stream::on_bytes(const protocol::block_ref& block, const char* data, std::size_t size) {
  bytes_in_ += size;
  if (idle_timer_)
    last_read_ = std::chrono::steady_clock::now();
  std::vector<protocol::frame> frames;
  auto st = block ? decoder_.feed(block, data, size, frames) : decoder_.feed(data, size, frames);
  if (first_packet_timer_ && !frames.empty())
    first_packet_timer_.reset(); // cancels the wait: the peer speaks the protocol
  if (!frames.empty() && handlers_.on_frames) {
    if (handlers_.acknowledge_batches)
      ++unconsumed_;
    handlers_.on_frames(std::move(frames));
  }
  if (closed_)
    return;
  if (st == protocol::frame_decoder::status::too_large) {
    fail(close_cause::frame_too_large, "frame of " + std::to_string(decoder_.rejected_length()) +
                                           " bytes exceeds max-frame-size " +
                                           std::to_string(limits_.max_frame_size));
    return;
  }
  if (unconsumed_ > 0)
    read_paused_ = true;
}

void stream::consumed() {
  if (unconsumed_ > 0)
    --unconsumed_;
  if (!read_paused_ || unconsumed_ > 0 || closed_)
    return;
  read_paused_ = false;
  // Not from inside the owner's handler: the read runs in a handler of its own.
  asio::defer(executor(), [self = shared_from_this()] { self->start_reading(); });
}

void stream::watch_idle(std::chrono::steady_clock::duration wait) {
  // Re-armed from the last read when it fires, instead of reset at every read: reads stay cheap.
  idle_timer_->expires_after(wait);
  idle_timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_)
      return;
    auto idle = std::chrono::steady_clock::now() - self->last_read_;
    if (idle >= self->limits_.idle_timeout) {
      self->fail(close_cause::idle_timeout,
                 "no bytes read for " + describe(self->limits_.idle_timeout) + " (idle-timeout)");
      return;
    }
    self->watch_idle(self->limits_.idle_timeout - idle);
  });
}

void stream::watch_first_packet() {
  first_packet_timer_ = std::make_unique<asio::steady_timer>(executor());
  first_packet_timer_->expires_after(limits_.first_packet_timeout);
  first_packet_timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_ || !self->first_packet_timer_)
      return;
    self->fail(close_cause::first_packet_timeout, "no complete packet within " +
                                                      describe(self->limits_.first_packet_timeout) +
                                                      " of connecting (first-packet-timeout)");
  });
}

// -- writing ------------------------------------------------------------------------------------

void stream::send(protocol::frame f) {
  if (closed_ || closing_)
    return;
  pending_bytes_ += f.payload().size() + 4;
  pending_.push_back(std::move(f));
  if (over_write_limit()) {
    fail(close_cause::slow_reader, "write queue exceeded " +
                                       std::to_string(limits_.max_write_queue) +
                                       " bytes (the peer does not read)");
    return;
  }
  if (!flush_registered_) {
    flush_registered_ = true;
    detail::defer_flush(shared_from_this());
  }
}

void stream::write(protocol::frame f) {
  asio::post(executor(),
             [self = shared_from_this(), f = std::move(f)]() mutable { self->send(std::move(f)); });
}

bool stream::over_write_limit() const noexcept {
  return pending_bytes_ + (out_.size() - out_offset_) > limits_.max_write_queue;
}

void stream::flush() {
  flush_registered_ = false;
  if (closed_)
    return;
  if (tls_)
    write_tls();
  else
    write_plain();
}

void stream::write_plain() {
  if (writing_) {
    // Behind bytes the socket has not taken yet: join them, in order.
    buffer_pending(0, 0);
    return;
  }
  std::size_t done = 0;
  while (done < pending_.size()) {
    auto count = std::min(frames_per_write, pending_.size() - done);
    std::array<std::array<unsigned char, 4>, frames_per_write> headers;
    std::array<asio::const_buffer, frames_per_write * 2> buffers;
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      auto payload = pending_[done + i].payload();
      headers[i] = protocol::encode_length(static_cast<std::uint32_t>(payload.size()));
      buffers[2 * i] = asio::buffer(headers[i]);
      buffers[2 * i + 1] = asio::buffer(payload.data(), payload.size());
      total += 4 + payload.size();
    }
    boost::system::error_code ec;
    auto n = socket_.write_some(buffer_span{buffers.data(), buffers.data() + 2 * count}, ec);
    if (ec && !would_block(ec))
      return fail(close_cause::io_error, "write failed: " + ec.message());
    if (ec)
      n = 0;
    bytes_out_ += n;
    if (n < total) {
      // The socket is full: keep the rest as bytes of our own and wait until it drains.
      buffer_pending(done, n);
      return wait_writable();
    }
    done += count;
  }
  pending_.clear();
  pending_bytes_ = 0;
  finish_close_if_flushed();
}

void stream::buffer_pending(std::size_t first, std::size_t skip) {
  for (auto i = first; i < pending_.size(); ++i) {
    auto payload = pending_[i].payload();
    auto header = protocol::encode_length(static_cast<std::uint32_t>(payload.size()));
    std::size_t from_header = std::min<std::size_t>(skip, 4);
    out_.insert(out_.end(), header.begin() + from_header, header.end());
    skip -= from_header;
    std::size_t from_payload = std::min(skip, payload.size());
    out_.insert(out_.end(), payload.begin() + from_payload, payload.end());
    skip -= from_payload;
  }
  pending_.clear();
  pending_bytes_ = 0;
}

void stream::wait_writable() {
  writing_ = true;
  socket_.async_wait(socket_type::wait_write,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       self->writing_ = false;
                       if (self->closed_)
                         return;
                       if (ec)
                         return self->fail(close_cause::io_error, "write failed: " + ec.message());
                       self->write_buffered();
                     });
}

void stream::write_buffered() {
  while (out_offset_ < out_.size()) {
    boost::system::error_code ec;
    auto n =
        socket_.write_some(asio::buffer(out_.data() + out_offset_, out_.size() - out_offset_), ec);
    if (would_block(ec))
      return wait_writable();
    if (ec)
      return fail(close_cause::io_error, "write failed: " + ec.message());
    out_offset_ += n;
    bytes_out_ += n;
  }
  out_.clear();
  out_offset_ = 0;
  if (out_.capacity() > out_kept)
    std::vector<char>{}.swap(out_);
  if (!pending_.empty())
    return write_plain();
  finish_close_if_flushed();
}

void stream::write_tls() {
  if (writing_) {
    // The frames wait for the write under way to end: as copies of their own, so that a peer
    // that reads slowly holds its queue and not the read blocks the frames came from.
    for (auto& f : pending_)
      f = f.compacted();
    return;
  }
  if (pending_.empty())
    return finish_close_if_flushed();
  // Asio's TLS stream writes a buffer sequence one buffer (one TLS record) at a time: in one
  // buffer, a frame's 4-byte header does not cost a record of its own.
  out_.clear();
  std::size_t taken = 0;
  while (taken < pending_.size() && out_.size() < tls_batch_max) {
    auto payload = pending_[taken].payload();
    auto header = protocol::encode_length(static_cast<std::uint32_t>(payload.size()));
    out_.insert(out_.end(), header.begin(), header.end());
    out_.insert(out_.end(), payload.begin(), payload.end());
    pending_bytes_ -= payload.size() + 4;
    ++taken;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(taken));
  writing_ = true;
  asio::async_write(tls_->ssl, asio::buffer(out_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                      self->writing_ = false;
                      self->bytes_out_ += n;
                      self->out_.clear();
                      if (self->out_.capacity() > out_kept)
                        std::vector<char>{}.swap(self->out_);
                      if (self->closed_)
                        return;
                      if (ec)
                        return self->fail(close_cause::io_error, "write failed: " + ec.message());
                      self->write_tls();
                    });
}

void stream::finish_close_if_flushed() {
  if (closing_ && !writing_ && pending_.empty() && out_offset_ == out_.size())
    fail(close_cause::node, "closed by the broker");
}

// -- closing ------------------------------------------------------------------------------------

void stream::close_after_flush() {
  asio::post(executor(), [self = shared_from_this()] {
    if (self->closed_)
      return;
    self->closing_ = true;
    if (!self->flush_registered_)
      self->flush();
  });
}

void stream::close(std::string reason) {
  asio::post(executor(), [self = shared_from_this(), reason = std::move(reason)]() mutable {
    self->fail(close_cause::node, std::move(reason));
  });
}

void stream::reject(std::string reason) {
  asio::post(executor(), [self = shared_from_this(), reason = std::move(reason)]() mutable {
    self->fail(close_cause::bad_packet, std::move(reason));
  });
}

std::optional<channel_traffic> stream::traffic() const {
  return channel_traffic{bytes_in_, bytes_out_, pending_bytes_ + (out_.size() - out_offset_)};
}

void stream::fail(close_cause cause, std::string reason) {
  if (closed_)
    return;
  closed_ = true;
  cause_ = cause;
  if (idle_timer_)
    idle_timer_->cancel();
  first_packet_timer_.reset();
  // No TLS close_notify: it would need a write and a wait; the peer sees the TCP close instead.
  auto& socket = tls_ ? tls_->ssl.next_layer() : socket_;
  boost::system::error_code ignored;
  socket.shutdown(socket_type::shutdown_both, ignored);
  socket.close(ignored);
  pending_.clear();
  pending_bytes_ = 0;
  out_.clear();
  out_offset_ = 0;
  auto on_closed = std::move(handlers_.on_closed);
  handlers_.on_closed = nullptr;
  // The owner's handlers may hold the owner, which holds this stream: drop them, but in a
  // handler of their own, as this may run inside on_frames.
  asio::post(executor(), [self = shared_from_this()] { self->handlers_ = {}; });
  if (on_closed)
    on_closed(std::move(reason));
}

} // namespace rcbroker::transport
