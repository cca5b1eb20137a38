#include "bench_client.hpp"

#include "rcbroker/protocol/packet_reader.hpp"

#include <iostream>

namespace rcbench {

bench_client::bench_client(bench_socket socket, std::uint16_t index, unsigned depth,
                           const frame_template& run, const cookie_format& cookies,
                           run_control& control, thread_stats& stats)
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
  cookies_.write(run_.append(output()), index_, slot, s.seq);
  stats_.in_flight.add(1);
}

void bench_client::on_read() {
  now_ = clock::now();
}

void bench_client::on_frame(std::string_view payload, std::size_t padded_size) {
  using namespace rcbroker::protocol;
  // Like the node, the client reads only what it routes by; the result stays in the frame.
  auto packet = read_payload(payload, padded_size, read_scope::routing);
  auto& fields = packet.fields;
  auto origin = fields.cookie ? cookies_.read(*fields.cookie) : std::nullopt;
  if (!packet.ok() || !origin || origin->client != index_ || origin->slot >= slots_.size() ||
      !slots_[origin->slot].busy || slots_[origin->slot].seq != origin->seq ||
      fields.type != packet_type::result) {
    // Not an answer to a RUN in flight: count it and go on.
    stats_.errors.add(1);
    return;
  }
  auto rc = fields.rc ? static_cast<std::size_t>(*fields.rc) : rc_slots - 1;
  complete(origin->slot, rc, fields.rc == result_code::ok, now_);
}

void bench_client::reached_worker(std::uint16_t slot, std::uint64_t seq, clock::time_point at) {
  if (slot >= slots_.size() || !slots_[slot].busy || slots_[slot].seq != seq) {
    stats_.errors.add(1);
    return;
  }
  complete(slot, static_cast<std::size_t>(rcbroker::protocol::result_code::ok), true, at);
  flush();
}

void bench_client::complete(std::uint16_t slot, std::size_t rc, bool ok, clock::time_point at) {
  auto& s = slots_[slot];
  s.busy = false;
  stats_.in_flight.add(-1);
  if (ok)
    stats_.ok.add(1);
  if (control_.current.load(std::memory_order_relaxed) == phase::measure) {
    stats_.measured_rc[rc].add(1);
    if (ok)
      stats_.measured_latency.record(
          static_cast<std::uint64_t>(std::chrono::nanoseconds{at - s.sent}.count()));
  }
  if (may_send())
    send(slot, at);
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
