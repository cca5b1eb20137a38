#include "rcbroker/transport/channel.hpp"

namespace rcbroker::transport {

std::string_view to_string(close_cause cause) noexcept {
  switch (cause) {
  case close_cause::peer_closed:
    return "peer_closed";
  case close_cause::io_error:
    return "io_error";
  case close_cause::frame_too_large:
    return "frame_too_large";
  case close_cause::idle_timeout:
    return "idle_timeout";
  case close_cause::first_packet_timeout:
    return "first_packet_timeout";
  case close_cause::slow_reader:
    return "slow_reader";
  case close_cause::bad_packet:
    return "bad_packet";
  case close_cause::node:
    return "node";
  }
  return "node";
}

} // namespace rcbroker::transport
