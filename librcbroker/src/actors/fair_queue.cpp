#include "rcbroker/actors/fair_queue.hpp"

#include <algorithm>

namespace rcbroker::actors {

void fair_queue::push(peer_id client, const protocol::cookie& c, std::int64_t priority) {
  auto& lvl = levels_[priority];
  auto& runs = lvl.by_client[client];
  if (runs.empty())
    lvl.turns.push_back(client);
  runs.push_back(c);
  ++size_;
}

void fair_queue::push_front(peer_id client, const protocol::cookie& c, std::int64_t priority) {
  auto& lvl = levels_[priority];
  auto& runs = lvl.by_client[client];
  if (!runs.empty())
    lvl.turns.erase(std::find(lvl.turns.begin(), lvl.turns.end(), client));
  lvl.turns.push_front(client);
  runs.push_front(c);
  ++size_;
}

std::optional<fair_queue::entry> fair_queue::pop() {
  if (levels_.empty())
    return std::nullopt;
  auto lvl = levels_.begin();
  auto& runs = lvl->second.by_client.at(lvl->second.turns.front());
  return take(lvl, 0, runs.begin());
}

fair_queue::entry fair_queue::take(level_map::iterator lvl, std::size_t turn,
                                   std::list<protocol::cookie>::iterator run) {
  auto& turns = lvl->second.turns;
  auto client = turns[turn];
  auto it = lvl->second.by_client.find(client);
  entry e{client, *run};
  it->second.erase(run);
  --size_;
  turns.erase(turns.begin() + static_cast<std::ptrdiff_t>(turn));
  if (!it->second.empty()) {
    turns.push_back(client);
    return e;
  }
  lvl->second.by_client.erase(it);
  if (turns.empty())
    levels_.erase(lvl);
  return e;
}

bool fair_queue::remove(peer_id client, const protocol::cookie& c, std::int64_t priority) {
  auto lvl = levels_.find(priority);
  if (lvl == levels_.end())
    return false;
  auto it = lvl->second.by_client.find(client);
  if (it == lvl->second.by_client.end())
    return false;
  auto& runs = it->second;
  auto at = std::find(runs.begin(), runs.end(), c);
  if (at == runs.end())
    return false;
  runs.erase(at);
  --size_;
  if (runs.empty()) {
    lvl->second.by_client.erase(it);
    drop_turn(lvl, client);
  }
  return true;
}

std::vector<protocol::cookie> fair_queue::remove_client(peer_id client) {
  std::vector<protocol::cookie> removed;
  for (auto lvl = levels_.begin(); lvl != levels_.end();) {
    auto next = std::next(lvl);
    auto it = lvl->second.by_client.find(client);
    if (it != lvl->second.by_client.end()) {
      removed.insert(removed.end(), it->second.begin(), it->second.end());
      size_ -= it->second.size();
      lvl->second.by_client.erase(it);
      drop_turn(lvl, client);
    }
    lvl = next;
  }
  return removed;
}

void fair_queue::clear() {
  levels_.clear();
  size_ = 0;
}

void fair_queue::drop_turn(level_map::iterator lvl, peer_id client) {
  auto& turns = lvl->second.turns;
  turns.erase(std::remove(turns.begin(), turns.end(), client), turns.end());
  if (turns.empty())
    levels_.erase(lvl);
}

} // namespace rcbroker::actors
