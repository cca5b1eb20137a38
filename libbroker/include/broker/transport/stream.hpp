#pragma once

#include "broker/protocol/frame.hpp"

#include <array>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace broker::transport {

struct tls_socket;

/// One connected socket (TCP, TLS over TCP, or Unix-domain) speaking length-prefixed frames. The
/// socket's executor must be a strand: every handler runs on it. Reads and hand every whole frame
/// of a read to `on_frames` at once; writes may be queued from any thread and go out in batches
/// (one gather write for all queued frames).
class stream : public std::enable_shared_from_this<stream> {
public:
  using socket_type = boost::asio::generic::stream_protocol::socket;

  /// What the stream tells its owner. Both run on the stream's strand; `on_closed` runs once.
  struct handlers {
    std::function<void(std::vector<protocol::frame>&&)> on_frames;
    std::function<void(std::string reason)> on_closed;
  };

  /// Limits of one stream.
  struct limits {
    std::size_t max_frame_size = protocol::default_max_frame_size;
    std::size_t max_write_queue = 64u * 1024u * 1024u; ///< queued bytes before the peer is dropped
    std::chrono::milliseconds idle_timeout{0}; ///< no byte read for this long closes (0: never)
  };

  /// Takes an open socket; `name` identifies the peer in logs (e.g. "tcp 127.0.0.1:40122").
  stream(socket_type socket, limits lim, std::string name);

  /// Takes a TLS session whose handshake is done (transport::listener makes them).
  stream(std::unique_ptr<tls_socket> tls, limits lim, std::string name);

  ~stream();

  /// Starts reading; call once.
  void start(handlers h);

  /// Queues `f` for writing (thread-safe).
  void write(protocol::frame f);

  /// Queues several frames at once (thread-safe).
  void write(std::vector<protocol::frame> frames);

  /// Writes what is queued, then closes (thread-safe).
  void close_after_flush();

  /// Closes now, dropping what is queued (thread-safe).
  void close(std::string reason);

  /// The peer's name for logs.
  const std::string& name() const noexcept { return name_; }

private:
  void read_some();
  void on_read(boost::system::error_code ec, std::size_t n);
  void watch_idle(std::chrono::steady_clock::duration wait);
  void enqueue(protocol::frame f);
  void write_queued();
  void on_written(boost::system::error_code ec);
  void fail(std::string reason);

  socket_type socket_;              // plain: the connection; TLS: closed, the socket is in tls_
  std::unique_ptr<tls_socket> tls_; // null for a plain stream
  boost::asio::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_read_;
  limits limits_;
  std::string name_;
  handlers handlers_;
  protocol::frame_decoder decoder_;
  // Not zero-filled: pages a connection never reads into are never made resident, which keeps an
  // idle connection near 8 KiB.
  std::unique_ptr<char[]> read_buffer_;
  std::deque<protocol::frame> queue_;      // frames not yet handed to a write
  std::vector<protocol::frame> in_flight_; // frames of the write under way
  std::vector<std::array<unsigned char, 4>> headers_;
  std::vector<char> tls_batch_; // TLS: the frames of the write under way, in one buffer
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false; // close once the queue is flushed
  bool closed_ = false;
};

/// A shared stream, as carried in messages.
using stream_ptr = std::shared_ptr<stream>;

} // namespace broker::transport
