#include "bench_worker.hpp"

#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"
#include "wire.hpp"

#include <iostream>

namespace rcbench {

bench_worker::bench_worker(bench_socket socket, unsigned register_capacity,
                           const frame_template& result, std::chrono::milliseconds delay,
                           thread_stats& stats, detached_sink on_detached)
    : framed_connection(std::move(socket)), register_capacity_(register_capacity), result_(result),
      delay_(delay), on_detached_(std::move(on_detached)), stats_(stats), timer_(executor()) {}

void bench_worker::start() {
  if (register_capacity_ > 0) {
    append_frame(output(), rcbroker::protocol::make_register(register_capacity_));
    flush();
  }
  start_reading();
}

void bench_worker::on_frame(std::string_view payload, std::size_t padded_size) {
  using namespace rcbroker::protocol;
  // Like the node, the worker reads only what it routes by (the variables are not used).
  auto packet = read_payload(payload, padded_size, read_scope::routing);
  auto& fields = packet.fields;
  if (packet.ok() && fields.type == packet_type::shutdown) {
    std::cerr << "rcbench: a worker got SHUTDOWN from the node\n";
    close();
    return;
  }
  if (!packet.ok() || fields.type != packet_type::run || !fields.cookie) {
    stats_.errors.add(1);
    return;
  }
  runs_.store(runs_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  // No RESULT of a detached RUN reaches its client: the worker tells it (the RESULT still frees
  // the slot at the node).
  if (fields.detach && on_detached_)
    on_detached_(*fields.cookie);
  if (delay_.count() == 0) {
    fields.cookie->write(result_.append(output()));
    return;
  }
  auto before = delayed_bytes_.size();
  fields.cookie->write(result_.append(delayed_bytes_));
  delayed_.push_back({std::chrono::steady_clock::now() + delay_, delayed_bytes_.size() - before});
  arm_timer();
}

void bench_worker::arm_timer() {
  if (timer_armed_ || delayed_.empty())
    return;
  timer_armed_ = true;
  timer_.expires_at(delayed_.front().due);
  timer_.async_wait([this](boost::system::error_code ec) {
    timer_armed_ = false;
    if (ec || !is_open())
      return;
    release_due();
    arm_timer();
  });
}

void bench_worker::release_due() {
  // Every RUN waits the same delay, so the queue is in order of due time.
  auto now = std::chrono::steady_clock::now();
  std::size_t bytes = 0;
  while (!delayed_.empty() && delayed_.front().due <= now) {
    bytes += delayed_.front().bytes;
    delayed_.pop_front();
  }
  output().append(delayed_bytes_, delayed_begin_, bytes);
  delayed_begin_ += bytes;
  if (delayed_.empty()) {
    delayed_bytes_.clear();
    delayed_begin_ = 0;
  } else if (delayed_begin_ > delayed_bytes_.size() / 2) {
    delayed_bytes_.erase(0, delayed_begin_);
    delayed_begin_ = 0;
  }
  flush();
}

void bench_worker::on_closed(const std::string& reason) {
  stats_.errors.add(1);
  timer_.cancel();
  std::cerr << "rcbench: worker: " << reason << "\n";
}

} // namespace rcbench
