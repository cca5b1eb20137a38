#include "rcbroker/actors/slot_fifo.hpp"

#include <iterator>

namespace rcbroker::actors {

void slot_fifo::add(peer_id worker, std::uint64_t n) {
  if (n == 0)
    return;
  // Adjacent slots of one worker are interchangeable, so merging keeps the FIFO order.
  if (!runs_.empty() && runs_.back().worker == worker)
    runs_.back().count += n;
  else
    runs_.push_back({worker, n});
  count_ += n;
}

peer_id slot_fifo::take() {
  auto& front = runs_.front();
  auto worker = front.worker;
  if (--front.count == 0)
    runs_.pop_front();
  --count_;
  return worker;
}

void slot_fifo::erase_run(std::deque<run>::iterator it) {
  it = runs_.erase(it);
  if (it != runs_.begin() && it != runs_.end() && std::prev(it)->worker == it->worker) {
    std::prev(it)->count += it->count;
    runs_.erase(it);
  }
}

void slot_fifo::remove(peer_id worker) {
  std::deque<run> kept;
  for (auto& r : runs_) {
    if (r.worker == worker) {
      count_ -= r.count;
      continue;
    }
    // The runs on either side of a removed one may be of one worker: merge them.
    if (!kept.empty() && kept.back().worker == r.worker)
      kept.back().count += r.count;
    else
      kept.push_back(r);
  }
  runs_ = std::move(kept);
}

std::uint64_t slot_fifo::count_of(peer_id worker) const noexcept {
  std::uint64_t n = 0;
  for (auto& r : runs_)
    if (r.worker == worker)
      n += r.count;
  return n;
}

void slot_fifo::clear() {
  runs_.clear();
  count_ = 0;
}

} // namespace rcbroker::actors
