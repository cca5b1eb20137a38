#pragma once

// The mapping between the gRPC transport's ReasonChipPacket (proto/reasonchip.proto) and the
// JSON packets of the length-prefixed wire protocol. Pure code: protobuf, no gRPC.

#include "rcbroker/protocol/frame.hpp"
#include "reasonchip.pb.h"

#include <string>

namespace rcbroker::transport {

/// The packet `message` carries, as a length-prefixed peer would send it: every field of the
/// protocol table in table order (unset ones null, `detach` false), then the extension fields
/// that are set. `variables` and `result` stay JSON text carried in a string, as on the wire;
/// a value that is no packet (an unknown `packet_type`, a cookie that is no UUID) makes a frame
/// the packet reader rejects, as it would reject it from a socket.
protocol::frame to_frame(const reasonchip::ReasonChipPacket& message);

/// Fills `message` with the fields of the packet in `f` (every field the packet reader knows;
/// absent ones stay unset). Returns why `f` is no packet, or an empty string.
std::string to_message(const protocol::frame& f, reasonchip::ReasonChipPacket& message);

} // namespace rcbroker::transport
