#include "rcbroker/actors/journal.hpp"

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
  auto write = [self]() {
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
    for (auto& rp : st.waiting)
      rp.deliver(result);
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
