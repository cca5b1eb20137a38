#include "bench_client.hpp"

#include "rcbroker/protocol/packet.hpp"

#include <iostream>

namespace rcbench {

namespace {

std::size_t rc_index(std::optional<std::string_view> raw) {
  if (raw) {
    if (auto text = string_contents(*raw)) {
      if (auto rc = rcbroker::protocol::parse_result_code(*text))
        return static_cast<std::size_t>(*rc);
    }
  }
  return rc_slots - 1;
}

} // namespace

bench_client::bench_client(socket_type socket, std::uint16_t index, unsigned depth,
                           const run_frame& run, const cookie_format& cookies, run_control& control,
                           thread_stats& stats)
    : framed_connection(std::move(socket)), index_(index), run_(run), cookies_(cookies),
      control_(control), stats_(stats), slots_(depth) {}

void bench_client::start() {
  start_reading();
  auto now = clock::now();
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (may_send())
      send(static_cast<std::uint16_t>(i), now);
  }
  flush();
}

bool bench_client::may_send() noexcept {
  auto p = control_.current.load(std::memory_order_relaxed);
  if (p == phase::drain)
    return false;
  if (p == phase::measure && control_.capped)
    return control_.budget.fetch_sub(1, std::memory_order_relaxed) > 0;
  return true;
}

void bench_client::send(std::uint16_t slot, clock::time_point now) {
  auto& s = slots_[slot];
  s.seq = ++next_seq_;
  s.sent = now;
  s.busy = true;
  run_.append(output(), cookies_, index_, slot, s.seq);
  stats_.in_flight.add(1);
}

void bench_client::on_read() {
  now_ = clock::now();
}

void bench_client::on_frame(std::string_view payload) {
  field_reader packet{payload};
  auto type = packet.get(R"("packet_type")");
  auto cookie = packet.get(R"("cookie")");
  auto text = cookie ? string_contents(*cookie) : std::nullopt;
  auto origin = text ? cookies_.read(*text) : std::nullopt;
  if (!origin || origin->client != index_ || origin->slot >= slots_.size() ||
      !slots_[origin->slot].busy || slots_[origin->slot].seq != origin->seq ||
      type != std::string_view{R"("RESULT")"}) {
    // Not an answer to a RUN in flight: count it and go on.
    stats_.errors.add(1);
    return;
  }
  auto& s = slots_[origin->slot];
  s.busy = false;
  stats_.in_flight.add(-1);
  auto rc = rc_index(packet.get(R"("rc")"));
  bool ok = rc == static_cast<std::size_t>(rcbroker::protocol::result_code::ok);
  if (ok)
    stats_.ok.add(1);
  if (control_.current.load(std::memory_order_relaxed) == phase::measure) {
    stats_.measured_rc[rc].add(1);
    if (ok)
      stats_.measured_latency.record(
          static_cast<std::uint64_t>(std::chrono::nanoseconds{now_ - s.sent}.count()));
  }
  if (may_send())
    send(origin->slot, now_);
}

void bench_client::on_closed(const std::string& reason) {
  std::int64_t lost = 0;
  for (auto& s : slots_) {
    if (s.busy) {
      s.busy = false;
      ++lost;
    }
  }
  stats_.in_flight.add(-lost);
  stats_.errors.add(1 + lost);
  control_.live_clients.fetch_sub(1, std::memory_order_relaxed);
  std::cerr << "rcbench: client " << index_ << ": " << reason << " (" << lost << " RUNs lost)\n";
}

} // namespace rcbench
