#pragma once

#include <cstdint>

namespace rcbroker::actors {

/// Names a peer joined to the Switchboard for the Switchboard's life; never reused, so a slot or
/// route that names a peer which went away can never be mistaken for a newer peer.
using peer_id = std::uint64_t;

} // namespace rcbroker::actors
