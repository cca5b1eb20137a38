#pragma once

#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/transport/channel.hpp"

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rcbroker::transport {

struct tls_socket;

/// One connected socket (TCP, TLS over TCP, or Unix-domain) speaking length-prefixed frames.
/// Every handler runs on the socket's executor, and so must `send` and `consumed`; the other
/// members may be called from any thread.
///
/// Reading: a plain socket's bytes go into a block of the thread (frames that arrive whole are
/// slices of it, not copies); a stream keeps only 512 bytes for the start of its next read and a
/// frame still incomplete. Each read's whole frames go to `on_frames` at once.
/// Writing: frames queued with `send` go out at the thread's next flush (write_batch.hpp) in one
/// gather write; what the socket does not take at once is copied into the stream's own buffer,
/// so a queue of `max_write_queue` bytes is all a slow reader can make the stream hold.
class stream final : public channel, public std::enable_shared_from_this<stream> {
public:
  using socket_type = boost::asio::generic::stream_protocol::socket;

  /// Limits of one stream.
  struct limits {
    std::size_t max_frame_size = protocol::default_max_frame_size;
    std::size_t max_write_queue = 64u * 1024u * 1024u; ///< queued bytes before the peer is dropped
    std::chrono::milliseconds idle_timeout{0}; ///< no byte read for this long closes (0: never)
    /// No whole frame within this long of the start closes (0: never): a peer that connects and
    /// sends nothing, or part of a frame, holds a descriptor and a connection place for nothing.
    std::chrono::milliseconds first_packet_timeout{0};
  };

  /// Takes an open socket; `name` identifies the peer in logs (e.g. "tcp 127.0.0.1:40122").
  stream(socket_type socket, limits lim, std::string name);

  /// Takes a TLS session whose handshake is done (server side: transport::listener makes them;
  /// client side: client::connect_attempt).
  stream(std::unique_ptr<tls_socket> tls, limits lim, std::string name);

  ~stream() override;

  /// Starts reading; call once.
  void start(handlers h) override;

  /// Queues `f` for the thread's next flush. On the stream's executor only.
  void send(protocol::frame f) override;

  /// Queues `f` (thread-safe: `send` on the stream's executor).
  void write(protocol::frame f);

  /// The owner processed one batch of frames (with `acknowledge_batches`). On the executor only.
  void consumed() override;

  /// Writes what is queued, then closes (thread-safe).
  void close_after_flush() override;

  /// Closes now, dropping what is queued (thread-safe).
  void close(std::string reason) override;

  /// Closes now, counted as a bad packet (thread-safe).
  void reject(std::string reason) override;

  /// Bytes read, written and queued so far.
  std::optional<channel_traffic> traffic() const override;

  /// Why the stream ended (nullopt while open).
  std::optional<close_cause> cause() const noexcept override { return cause_; }

  /// The executor every handler of this stream runs on.
  boost::asio::any_io_executor executor();

  /// Writes the frames `send` queued (called by flush_pending_writes).
  void flush();

  /// The error that ended reading, e.g. a peer's TLS alert (none when the stream ended
  /// otherwise); on the executor, e.g. in `on_closed`.
  const boost::system::error_code& read_error() const noexcept { return read_error_; }

private:
  void start_reading();
  void read_plain();
  void on_first_bytes(std::size_t n);
  void read_tls();
  void on_bytes(const protocol::block_ref& block, const char* data, std::size_t size);
  void on_read_error(const boost::system::error_code& ec);
  void watch_idle(std::chrono::steady_clock::duration wait);
  void watch_first_packet();
  void write_plain();
  void write_tls();
  void write_buffered();
  void wait_writable();
  void buffer_pending(std::size_t first, std::size_t skip);
  bool over_write_limit() const noexcept;
  void finish_close_if_flushed();
  void fail(close_cause cause, std::string reason);

  socket_type socket_;              // plain: the connection; TLS: closed, the socket is in tls_
  std::unique_ptr<tls_socket> tls_; // null for a plain stream
  std::unique_ptr<boost::asio::steady_timer> idle_timer_; // only with an idle timeout
  // Only with a first-packet timeout, and only until the first whole frame arrived.
  std::unique_ptr<boost::asio::steady_timer> first_packet_timer_;
  std::chrono::steady_clock::time_point last_read_;
  limits limits_;
  handlers handlers_;
  protocol::frame_decoder decoder_;
  std::vector<protocol::frame> pending_; // sent, not yet handed to a write
  std::size_t pending_bytes_ = 0;        // wire bytes of pending_
  std::vector<char> out_; // plain: bytes the socket did not take yet; TLS: the write under way
  std::size_t out_offset_ = 0;
  std::unique_ptr<char[]> tls_read_buffer_; // TLS only, made at the first read
  // Plain: where a read waiting for the socket puts its first bytes (most packets fit whole);
  // they are copied into the thread's block at once.
  std::array<char, 512> first_bytes_;
  std::uint32_t unconsumed_ = 0; // batches handed to on_frames, not yet consumed
  bool reading_ = false;         // a read or a wait for readability is under way
  bool read_paused_ = false;     // back-pressure: waiting for consumed()
  bool writing_ = false;         // a write or a wait for writability is under way
  bool flush_registered_ = false;
  bool closing_ = false; // close once the queue is flushed
  bool closed_ = false;
  std::optional<close_cause> cause_;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  boost::system::error_code read_error_;
};

/// A shared stream, as carried in messages.
using stream_ptr = std::shared_ptr<stream>;

} // namespace rcbroker::transport
