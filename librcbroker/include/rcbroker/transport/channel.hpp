#pragma once

#include "rcbroker/protocol/frame.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rcbroker::transport {

/// Why a socket connection ended, as `rcbroker_connections_closed_total` counts it.
enum class close_cause : std::uint8_t {
  peer_closed,          ///< the peer closed it
  io_error,             ///< reading or writing failed
  frame_too_large,      ///< a frame over max-frame-size
  idle_timeout,         ///< nothing read for idle-timeout
  first_packet_timeout, ///< no whole packet within first-packet-timeout
  slow_reader,          ///< the peer read too slowly: the write queue passed its bound
  bad_packet,           ///< a packet no RESULT can answer (no readable cookie)
  node,                 ///< the node closed it (shutdown, connection limit, its actor ended)
};

/// How many close causes there are.
inline constexpr std::size_t close_cause_count = static_cast<std::size_t>(close_cause::node) + 1;

/// The label of a close cause, e.g. "slow_reader".
std::string_view to_string(close_cause cause) noexcept;

/// What crossed a channel so far.
struct channel_traffic {
  std::uint64_t bytes_in = 0;     ///< read from the peer
  std::uint64_t bytes_out = 0;    ///< written to the peer
  std::uint64_t queued_bytes = 0; ///< waiting to be written
};

/// One peer's packets in both directions, whatever carries them: a length-prefixed socket
/// (stream.hpp), an HTTP exchange (http_exchange.hpp) or a gRPC stream. A connection actor
/// owns one and sees only this. `start`, `send`, `consumed` and the handlers run on the io
/// thread; `close` and `close_after_flush` may be called from any thread.
class channel {
public:
  /// What the channel tells its owner, on the io thread; `on_closed` runs once.
  struct handlers {
    std::function<void(std::vector<protocol::frame>&&)> on_frames;
    std::function<void(std::string reason)> on_closed;
    /// When set, the owner calls `consumed()` once per `on_frames` batch it has processed, and
    /// the channel reads nothing more while a batch is unprocessed (back-pressure).
    bool acknowledge_batches = false;
  };

  explicit channel(std::string name) : name_(std::move(name)) {}
  virtual ~channel() = default;
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  /// Starts reading; call once.
  virtual void start(handlers h) = 0;

  /// Queues `f` for the peer (a whole packet, as on the length-prefixed wire).
  virtual void send(protocol::frame f) = 0;

  /// The owner processed one batch of frames (with `acknowledge_batches`).
  virtual void consumed() = 0;

  /// Writes what is queued, then closes.
  virtual void close_after_flush() = 0;

  /// Closes now, dropping what is queued.
  virtual void close(std::string reason) = 0;

  /// Refuses the peer's packet as one no RESULT can answer (a bad packet without a cookie) and
  /// ends the channel: a socket closes, an HTTP request gets `400` with `reason`.
  virtual void reject(std::string reason) { close(std::move(reason)); }

  /// Whether the channel carries one request of its peer (an HTTP exchange): the peer's next
  /// packet, a CANCEL of its RUN say, comes on another channel.
  virtual bool one_request() const noexcept { return false; }

  /// What crossed the channel so far; nullopt for one that does not count (an HTTP exchange, a
  /// gRPC stream). On the io thread.
  virtual std::optional<channel_traffic> traffic() const { return std::nullopt; }

  /// Why the channel ended; nullopt while it is open, and for one that does not say (an HTTP
  /// exchange, a gRPC stream: they end with their request). On the io thread.
  virtual std::optional<close_cause> cause() const noexcept { return std::nullopt; }

  /// The peer's name for logs, e.g. "tcp 127.0.0.1:40122".
  const std::string& name() const noexcept { return name_; }

  /// The transport it came by, from its name ("tcp 127.0.0.1:40122" → "tcp", "unix" → "socket").
  std::string transport() const {
    auto scheme = name_.substr(0, name_.find(' '));
    return scheme == "unix" ? "socket" : scheme;
  }

private:
  std::string name_;
};

/// A shared channel, as carried in messages.
using channel_ptr = std::shared_ptr<channel>;

} // namespace rcbroker::transport
