#include "rcbroker/actors/fair_queue.hpp"

#include <algorithm>

namespace rcbroker::actors {

void fair_queue::push(peer_id client, const protocol::cookie& c) {
  auto& runs = by_client_[client];
  if (runs.empty())
    turns_.push_back(client);
  runs.push_back(c);
  ++size_;
}

std::optional<fair_queue::entry> fair_queue::pop() {
  if (turns_.empty())
    return std::nullopt;
  auto client = turns_.front();
  turns_.pop_front();
  auto it = by_client_.find(client);
  entry e{client, it->second.front()};
  it->second.pop_front();
  --size_;
  if (it->second.empty())
    by_client_.erase(it);
  else
    turns_.push_back(client);
  return e;
}

bool fair_queue::remove(peer_id client, const protocol::cookie& c) {
  auto it = by_client_.find(client);
  if (it == by_client_.end())
    return false;
  auto& runs = it->second;
  auto at = std::find(runs.begin(), runs.end(), c);
  if (at == runs.end())
    return false;
  runs.erase(at);
  --size_;
  if (runs.empty()) {
    by_client_.erase(it);
    drop_turn(client);
  }
  return true;
}

std::vector<protocol::cookie> fair_queue::remove_client(peer_id client) {
  auto it = by_client_.find(client);
  if (it == by_client_.end())
    return {};
  std::vector<protocol::cookie> runs(it->second.begin(), it->second.end());
  size_ -= runs.size();
  by_client_.erase(it);
  drop_turn(client);
  return runs;
}

void fair_queue::clear() {
  by_client_.clear();
  turns_.clear();
  size_ = 0;
}

void fair_queue::drop_turn(peer_id client) {
  turns_.erase(std::remove(turns_.begin(), turns_.end(), client), turns_.end());
}

} // namespace rcbroker::actors
