#pragma once

#include "rcbroker/actors/peer_id.hpp"

#include <cstdint>
#include <deque>

namespace rcbroker::actors {

/// The Switchboard's free worker slots, least recently freed first, kept as runs of one
/// worker's consecutive slots (so a capacity of millions costs one entry). Pure data: no actor.
class slot_fifo {
public:
  /// Frees `n` slots of `worker`, after every slot already free.
  void add(peer_id worker, std::uint64_t n);

  /// Takes the least recently freed slot and returns its worker; the FIFO must not be empty.
  peer_id take();

  /// Takes the least recently freed slot of a worker that `fits` accepts and returns its worker;
  /// 0 (no peer) when no free slot fits. Scans the free runs in order.
  template <class Fits>
  peer_id take_first(Fits&& fits) {
    for (auto it = runs_.begin(); it != runs_.end(); ++it) {
      if (!fits(it->worker))
        continue;
      auto worker = it->worker;
      --count_;
      if (--it->count == 0)
        erase_run(it);
      return worker;
    }
    return 0;
  }

  /// Calls `visit(worker, free)` for each run of one worker's free slots, in order (a worker
  /// may come up more than once).
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (auto& r : runs_)
      visit(r.worker, r.count);
  }

  /// Forgets every free slot of `worker` (it went away).
  void remove(peer_id worker);

  /// Forgets every free slot.
  void clear();

  /// Free slots.
  std::uint64_t count() const noexcept { return count_; }

  /// Free slots of `worker`.
  std::uint64_t count_of(peer_id worker) const noexcept;

  /// Entries held (runs of one worker's slots), for tests of the compaction.
  std::size_t runs() const noexcept { return runs_.size(); }

private:
  struct run {
    peer_id worker;
    std::uint64_t count;
  };

  /// Erases an emptied run, merging its neighbours when they are of one worker.
  void erase_run(std::deque<run>::iterator it);

  std::deque<run> runs_;
  std::uint64_t count_ = 0;
};

} // namespace rcbroker::actors
