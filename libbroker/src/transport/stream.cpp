#include "broker/transport/stream.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace broker::transport {

namespace asio = boost::asio;

namespace {

constexpr std::size_t read_buffer_size = 64 * 1024;

} // namespace

stream::stream(socket_type socket, limits lim, std::string name)
    : socket_(std::move(socket)), limits_(lim), name_(std::move(name)),
      decoder_(lim.max_frame_size), read_buffer_(read_buffer_size) {}

stream::~stream() = default;

void stream::start(handlers h) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), h = std::move(h)]() mutable {
    self->handlers_ = std::move(h);
    self->read_some();
  });
}

void stream::read_some() {
  socket_.async_read_some(asio::buffer(read_buffer_), [self = shared_from_this()](
                                                          boost::system::error_code ec,
                                                          std::size_t n) {
    if (self->closed_)
      return;
    if (ec) {
      self->fail(ec == asio::error::eof ? "peer closed the connection" : ec.message());
      return;
    }
    std::vector<protocol::frame> frames;
    auto st = self->decoder_.feed(self->read_buffer_.data(), n, frames);
    if (!frames.empty() && self->handlers_.on_frames)
      self->handlers_.on_frames(std::move(frames));
    if (st == protocol::frame_decoder::status::too_large) {
      self->fail("frame of " + std::to_string(self->decoder_.rejected_length()) +
                 " bytes exceeds max-frame-size " + std::to_string(self->limits_.max_frame_size));
      return;
    }
    self->read_some();
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
  asio::async_write(socket_, buffers,
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing_ = false;
                      self->in_flight_.clear();
                      if (self->closed_)
                        return;
                      if (ec) {
                        self->fail("write failed: " + ec.message());
                        return;
                      }
                      self->write_queued();
                    });
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
  boost::system::error_code ignored;
  socket_.shutdown(socket_type::shutdown_both, ignored);
  socket_.close(ignored);
  queue_.clear();
  queued_bytes_ = 0;
  auto on_closed = std::move(handlers_.on_closed);
  handlers_ = {};
  if (on_closed)
    on_closed(std::move(reason));
}

} // namespace broker::transport
