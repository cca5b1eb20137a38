#include "rcbroker/transport/write_batch.hpp"

#include "rcbroker/transport/stream.hpp"

#include <boost/asio/defer.hpp>
#include <vector>

namespace rcbroker::transport {

namespace {

thread_local bool driven = false;
thread_local std::vector<std::shared_ptr<stream>> pending;
thread_local std::vector<std::shared_ptr<stream>> flushing; // kept: no allocation per flush

} // namespace

void drive_pending_writes(bool on) noexcept {
  driven = on;
}

std::size_t pending_write_streams() noexcept {
  return pending.size();
}

void flush_pending_writes() {
  if (!flushing.empty())
    return; // called again from inside a flush: the outer loop takes what is new
  // A flush may close a stream, whose owner may queue more: loop until nothing is pending.
  while (!pending.empty()) {
    flushing.swap(pending);
    for (auto& s : flushing)
      s->flush();
    flushing.clear();
  }
}

namespace detail {

void defer_flush(std::shared_ptr<stream> s) {
  if (driven) {
    pending.push_back(std::move(s));
    return;
  }
  auto ex = s->executor();
  boost::asio::defer(ex, [s = std::move(s)] { s->flush(); });
}

} // namespace detail

} // namespace rcbroker::transport
