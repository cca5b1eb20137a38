#include "rcbroker/actors/journal.hpp"

#include "rcbroker/journal/journal_checkpointer.hpp"
#include "rcbroker/logging/repeated.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <memory>
#include <spdlog/spdlog.h>
#include <utility>
#include <vector>

namespace rcbroker::actors {

namespace {

using clock = std::chrono::steady_clock;

/// Log frames (pages of 4 KiB and a header) from which the checkpointer copies the log into the
/// file, and from which the journal's own thread does it, the checkpointer having fallen behind.
constexpr int checkpoint_frames = 4096;
constexpr int overdue_checkpoint_frames = 16 * checkpoint_frames;

/// What the checkpointer starts with (shared: spawn arguments are copied).
struct checkpointer_start {
  std::string path;
  journal::journal_sync sync = journal::journal_sync::batch;
};

struct checkpointer_state {
  static inline const char* name = "journal-checkpointer";
  std::unique_ptr<journal::journal_checkpointer> db;
  std::uint64_t failures = 0;
};

journal_checkpointer_actor::behavior_type
checkpointer_behavior(journal_checkpointer_actor::stateful_pointer<checkpointer_state> self,
                      std::shared_ptr<checkpointer_start> start) {
  return {
      [self, start](checkpoint_atom) {
        auto& st = self->state;
        std::string error;
        if (!st.db)
          st.db = journal::journal_checkpointer::open(start->path, start->sync, error);
        if (st.db && st.db->run(error))
          return true;
        if (logging::worth_logging(++st.failures))
          spdlog::warn("journal: a checkpoint of {} failed: {} (the journal's own thread copies "
                       "the log when it grows further) [{} so far]",
                       start->path, error, st.failures);
        return false;
      },
  };
}

struct journal_state {
  static inline const char* name = "journal";

  std::unique_ptr<journal::journal_store> store;
  std::string path;
  journal::journal_sync sync = journal::journal_sync::batch;
  clock::time_point last_open_attempt{};
  /// Entries of the batches not written yet, and who waits for them.
  std::vector<journal::journal_entry> pending;
  std::vector<caf::typed_response_promise<journal_commit>> waiting;
  bool flush_scheduled = false;
  /// Removals of a batch that failed: the rows stay until one goes through.
  std::vector<journal::journal_entry> removals_to_retry;
  bool retry_scheduled = false;
  std::uint64_t failures = 0;
  /// Copies the log into the file on a thread of its own (spawned when first needed).
  journal_checkpointer_actor checkpointer;
  bool checkpoint_running = false;
  std::uint64_t checkpoint_failures = 0;

  /// Copies the log into the file on this connection (the frames the checkpointer left, or all of
  /// them when it fell behind); the next write then starts the log over.
  void checkpoint_here() {
    std::string error;
    if (!store->checkpoint(error) && logging::worth_logging(++checkpoint_failures))
      spdlog::warn("journal: a checkpoint of {} failed: {} [{} so far]", path, error,
                   checkpoint_failures);
  }

  /// Opens the file again after it failed at start, at most once a second.
  bool ensure_open(std::string& error) {
    if (store)
      return true;
    auto now = clock::now();
    if (now - last_open_attempt < std::chrono::seconds{1}) {
      error = "the journal " + path + " could not be opened; the node tries again every second";
      return false;
    }
    last_open_attempt = now;
    auto opened = journal::journal_store::open(path, sync);
    if (!opened.store) {
      error = opened.error;
      return false;
    }
    store = std::move(opened.store);
    spdlog::info("journal: {} opened at last; it holds {} run(s) (run again at the next start)",
                 path, store->size());
    return true;
  }
};

using journal_pointer = journal_actor::stateful_pointer<journal_state>;

/// What the journal starts with (shared: spawn arguments are copied).
struct journal_start {
  std::unique_ptr<journal::journal_store> store;
  std::string path;
  journal::journal_sync sync = journal::journal_sync::batch;
};

journal_actor::behavior_type journal_behavior(journal_pointer self,
                                              std::shared_ptr<journal_start> start) {
  self->state.store = std::move(start->store);
  self->state.path = std::move(start->path);
  self->state.sync = start->sync;
  // The checkpointer copies the log once it holds checkpoint_frames; when it is done, this thread
  // copies the few frames written meanwhile, so that the log starts over at the next write.
  auto checkpoint_when_due = [self]() {
    auto& st = self->state;
    auto frames = st.store->log_frames();
    if (frames >= overdue_checkpoint_frames) {
      st.checkpoint_here();
      return;
    }
    if (frames < checkpoint_frames || st.checkpoint_running)
      return;
    if (!st.checkpointer) {
      auto start = std::make_shared<checkpointer_start>();
      start->path = st.path;
      start->sync = st.sync;
      st.checkpointer = self->spawn<caf::detached + caf::linked>(checkpointer_behavior, start);
    }
    st.checkpoint_running = true;
    self->request(st.checkpointer, caf::infinite, checkpoint_atom::value)
        .then(
            [self](bool copied) {
              auto& st = self->state;
              st.checkpoint_running = false;
              if (copied && st.store)
                st.checkpoint_here();
            },
            [self](caf::error&) { self->state.checkpoint_running = false; });
  };
  auto write = [self, checkpoint_when_due]() {
    auto& st = self->state;
    st.flush_scheduled = false;
    if (!st.removals_to_retry.empty()) {
      st.pending.insert(st.pending.begin(), st.removals_to_retry.begin(),
                        st.removals_to_retry.end());
      st.removals_to_retry.clear();
    }
    if (st.pending.empty() && st.waiting.empty())
      return;
    journal_commit result;
    auto start = clock::now();
    std::string error;
    result.ok = st.ensure_open(error) && st.store->apply(st.pending, error);
    result.latency_ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start).count());
    if (!result.ok) {
      result.error = std::move(error);
      auto n = ++st.failures;
      if (logging::worth_logging(n))
        spdlog::error("journal: a batch of {} change(s) could not be written: {}; detached RUNs "
                      "are refused until a write goes through (free space on the file system, "
                      "or make it writable) [{} failed batch(es) so far]",
                      st.pending.size(), result.error, n);
      for (auto& e : st.pending)
        if (!e.adds())
          st.removals_to_retry.push_back(std::move(e));
      if (!st.removals_to_retry.empty() && !st.retry_scheduled) {
        st.retry_scheduled = true;
        self->delayed_send(self, std::chrono::seconds{1}, flush_atom::value);
      }
    } else if (st.failures > 0) {
      spdlog::info("journal: writes go through again after {} failed batch(es)", st.failures);
      st.failures = 0;
    }
    st.pending.clear();
    if (result.ok)
      checkpoint_when_due();
    // One transaction answers every batch in it: its time goes with the first answer only, so
    // that the histogram has one observation a transaction.
    for (auto& rp : st.waiting) {
      rp.deliver(result);
      result.latency_ns = 0;
    }
    st.waiting.clear();
  };
  return {
      [self](journal_atom, std::vector<journal::journal_entry>& entries) {
        auto& st = self->state;
        if (st.pending.empty())
          st.pending = std::move(entries);
        else
          st.pending.insert(st.pending.end(), std::make_move_iterator(entries.begin()),
                            std::make_move_iterator(entries.end()));
        // Batches that arrive while this one waits for its turn are written with it.
        if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
        auto rp = self->make_response_promise<journal_commit>();
        st.waiting.push_back(rp);
        return rp;
      },
      [self, write](flush_atom) {
        if (self->current_sender() != self->ctrl())
          return;
        self->state.retry_scheduled = false;
        write();
      },
      [self, write](shutdown_atom) {
        write();
        return done_atom::value;
      },
  };
}

} // namespace

journal_actor spawn_journal(caf::actor_system& sys, std::unique_ptr<journal::journal_store> store,
                            std::string path, journal::journal_sync sync) {
  auto start = std::make_shared<journal_start>();
  start->store = std::move(store);
  start->path = std::move(path);
  start->sync = sync;
  return sys.spawn<caf::detached>(journal_behavior, std::move(start));
}

} // namespace rcbroker::actors
