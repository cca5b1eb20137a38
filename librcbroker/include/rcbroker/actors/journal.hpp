#pragma once

#include "rcbroker/actors/messages.hpp"
#include "rcbroker/journal/journal_store.hpp"

#include <caf/fwd.hpp>
#include <memory>
#include <string>

namespace rcbroker::actors {

/// Spawns the journal actor on a thread of its own (SQLite blocks; it never runs on the I/O
/// thread). It takes `store` (null when the file could not be opened at start: it then tries
/// `path` again, at most once a second, as batches come) and writes each batch the Switchboard
/// sends in one transaction, with the batches that arrived while the last one was written.
journal_actor spawn_journal(caf::actor_system& sys, std::unique_ptr<journal::journal_store> store,
                            std::string path, journal::journal_sync sync);

} // namespace rcbroker::actors
