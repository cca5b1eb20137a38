#include "framed_connection.hpp"

#include "rcbroker/protocol/frame.hpp"

#include <boost/asio/write.hpp>
#include <cstring>

namespace rcbench {

namespace asio = boost::asio;

namespace {

constexpr std::size_t read_buffer_size = 64 * 1024;

// Bytes kept readable behind the data read, so that frames are parsed in place.
constexpr std::size_t padding = rcbroker::protocol::frame_padding;

// A frame longer than this closes the connection (the node's default max-frame-size).
constexpr std::size_t max_frame_size = 16u * 1024u * 1024u;

std::size_t read_length(const char* p) noexcept {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return (std::size_t{b[0]} << 24) | (std::size_t{b[1]} << 16) | (std::size_t{b[2]} << 8) |
         std::size_t{b[3]};
}

} // namespace

framed_connection::framed_connection(bench_socket socket)
    : socket_(std::move(socket)), in_(read_buffer_size + padding) {}

framed_connection::~framed_connection() {
  socket_.close();
}

void framed_connection::start_reading() {
  read_some();
}

void framed_connection::read_some() {
  socket_.async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - padding - in_end_),
                          [this](boost::system::error_code ec, std::size_t n) {
                            if (closed_)
                              return;
                            if (ec) {
                              fail(ec == asio::error::eof ? "peer closed the connection"
                                                          : ec.message());
                              return;
                            }
                            in_end_ += n;
                            on_read();
                            while (!closed_ && in_end_ - in_begin_ >= 4) {
                              auto length = read_length(in_.data() + in_begin_);
                              if (length > max_frame_size) {
                                fail("frame of " + std::to_string(length) + " bytes is too large");
                                return;
                              }
                              if (in_end_ - in_begin_ < 4 + length)
                                break;
                              auto at = in_begin_ + 4;
                              on_frame(std::string_view{in_.data() + at, length}, in_.size() - at);
                              in_begin_ += 4 + length;
                            }
                            if (closed_)
                              return;
                            // Move the partial frame to the front, growing the buffer if the frame
                            // is larger.
                            auto rest = in_end_ - in_begin_;
                            if (rest > 0 && in_begin_ > 0)
                              std::memmove(in_.data(), in_.data() + in_begin_, rest);
                            in_begin_ = 0;
                            in_end_ = rest;
                            if (rest >= 4) {
                              auto need = 4 + read_length(in_.data());
                              if (need + padding > in_.size())
                                in_.resize(need + padding);
                            }
                            on_read_done();
                            if (!closed_)
                              read_some();
                          });
}

void framed_connection::flush() {
  if (write_pending_ || closed_ || out_.empty())
    return;
  std::swap(out_, writing_);
  write_pending_ = true;
  asio::async_write(socket_, asio::buffer(writing_),
                    [this](boost::system::error_code ec, std::size_t) {
                      write_pending_ = false;
                      writing_.clear();
                      if (closed_)
                        return;
                      if (ec) {
                        fail("write failed: " + ec.message());
                        return;
                      }
                      flush();
                    });
}

void framed_connection::close() {
  if (closed_)
    return;
  closed_ = true;
  socket_.close();
}

void framed_connection::fail(const std::string& reason) {
  if (closed_)
    return;
  close();
  on_closed(reason);
}

} // namespace rcbench
