#pragma once

#include "rcbroker/actors/messages.hpp"

#include <caf/fwd.hpp>

namespace rcbroker::actors {

/// Spawns the frame reader: a detached actor (its own thread, so the only place besides the I/O
/// thread that reads packets) that answers `read` with protocol::read_packet of the frame. The
/// Broker spawns one and links to it.
frame_reader_actor spawn_frame_reader(caf::actor_system& sys);

} // namespace rcbroker::actors
