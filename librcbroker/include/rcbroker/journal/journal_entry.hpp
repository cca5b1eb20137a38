#pragma once

#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"

#include <cstdint>

namespace rcbroker::journal {

/// One change to the journal, or one run read back from it: a RUN to keep (with its frame) or,
/// without a frame, the end of the run with that cookie.
struct journal_entry {
  protocol::cookie id; ///< the run's cookie (the journal's key)
  /// The RUN frame as its client sent it; empty: remove the run `id`.
  protocol::frame run;
  bool detach = false;       ///< the RUN was detached (else it waited in the queue)
  std::int64_t priority = 0; ///< its queue priority (an actor's RUN may carry it apart)
  std::int32_t retries = -1; ///< its retries on worker loss (-1: as the node's default)

  /// Whether this entry keeps a run (else it removes one).
  bool adds() const noexcept { return run.valid(); }
};

} // namespace rcbroker::journal
