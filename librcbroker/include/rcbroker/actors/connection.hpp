#pragma once

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/transport/channel.hpp"

#include <caf/fwd.hpp>
#include <memory>
#include <string>

namespace rcbroker::actors {

class packet_refusals;

/// Spawns the actor of one socket connection acting as `role`. It joins the Switchboard, reads
/// the frames of its stream, answers what is wrong with a packet on its own (bad packets, the
/// stateless rules of PROTOCOL.md), passes the rest to `sb`, and writes the frames the
/// Switchboard delivers. It ends when its socket ends, or after a flush on `close_atom`.
/// `name` names the peer in logs, e.g. "client#3 (tcp 127.0.0.1:40122)". A worker with a
/// non-empty `worker_token` must carry it in REGISTER's `token` field, or gets RESULT BAD_PACKET
/// and no slots. Frames over `large_frame_bytes` are read by `reader` (when given) while the
/// connection waits, in order; the others on the I/O thread. The actor must run on its stream's
/// thread (runtime::io_scheduler): it writes the stream directly. Each packet it refuses
/// (answers BAD_PACKET or UNSUPPORTED_PACKET_TYPE, closes on, or drops) counts in `refusals`, by
/// reason, when given.
connection_actor spawn_connection(caf::actor_system& sys, peer_role role,
                                  transport::channel_ptr stream, switchboard_actor sb,
                                  std::string name, std::string worker_token = {},
                                  frame_reader_actor reader = {},
                                  std::shared_ptr<packet_refusals> refusals = nullptr);

} // namespace rcbroker::actors
