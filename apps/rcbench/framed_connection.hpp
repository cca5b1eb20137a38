#pragma once

#include "bench_socket.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rcbench {

/// One socket speaking length-prefixed frames, driven by a single-threaded io_context. Frames are
/// read in place from one buffer and handed over as views; writes are appended to an output
/// buffer and go out in one write per batch, with a second buffer filling while one is written,
/// so a steady load allocates nothing. Handlers hold `this`: the owner keeps the object alive
/// until its io_context has stopped.
class framed_connection {
public:
  /// Takes a connected socket; nothing happens until start_reading() or flush().
  explicit framed_connection(bench_socket socket);
  virtual ~framed_connection();

  framed_connection(const framed_connection&) = delete;
  framed_connection& operator=(const framed_connection&) = delete;

  /// Starts the read loop (on the io_context's thread).
  void start_reading();

  /// Sends what was appended to output() unless a write is under way (it follows that write).
  void flush();

  /// Closes the socket; no handler runs on_closed after this.
  void close();

  /// Whether the connection has neither failed nor been closed.
  bool is_open() const noexcept { return !closed_; }

protected:
  /// Where whole frames (prefix included) are appended before flush().
  std::string& output() noexcept { return out_; }

  /// The socket's executor, for timers of the subclass.
  bench_socket::executor_type executor() { return socket_.get_executor(); }

  /// Runs once per completed read, before its frames.
  virtual void on_read() {}

  /// Runs for each whole frame's payload; the view lives until the handler returns, and
  /// `padded_size` bytes from its start are readable (at least `frame_padding` past its end).
  virtual void on_frame(std::string_view payload, std::size_t padded_size) = 0;

  /// Runs after the frames of one read (a good place to flush()).
  virtual void on_read_done() { flush(); }

  /// Runs once when the connection fails (peer closed, I/O error, oversized frame).
  virtual void on_closed(const std::string& reason) = 0;

private:
  void read_some();
  void fail(const std::string& reason);

  bench_socket socket_;
  std::vector<char> in_;
  std::size_t in_begin_ = 0; // first unconsumed byte
  std::size_t in_end_ = 0;   // end of the bytes read
  std::string out_;          // frames waiting for the next write
  std::string writing_;      // frames of the write under way
  bool write_pending_ = false;
  bool closed_ = false;
};

} // namespace rcbench
