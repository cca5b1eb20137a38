#include "summary.hpp"

#include "rcbroker/protocol/packet.hpp"

#include <cstdio>

namespace rcbench {

namespace {

std::string rc_name(std::size_t i) {
  if (i + 1 == rc_slots)
    return "OTHER";
  return std::string{
      rcbroker::protocol::to_string(static_cast<rcbroker::protocol::result_code>(i))};
}

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

} // namespace

double idle_summary::bytes_per_connection() const {
  auto n = clients + workers;
  if (n == 0)
    return 0;
  return (static_cast<double>(rss_after_kib) - static_cast<double>(rss_before_kib)) * 1024.0 / n;
}

std::string to_text(const options& o, const load_summary& s) {
  std::string out = "rcbench: " + s.mode + " via " + s.endpoint +
                    ", K=" + std::to_string(o.clients) + " D=" + std::to_string(o.depth) +
                    " W=" + std::to_string(o.workers) + " C=" + std::to_string(o.capacity) +
                    " S=" + std::to_string(o.payload) + " delay " + std::to_string(o.delay_ms) +
                    " ms, " + std::to_string(o.threads) + " io thread(s)\n";
  out += "  measured    " + format("%.2f", s.seconds) + " s, " + std::to_string(s.tasks) +
         " tasks, " + format("%.0f", s.tasks_per_s()) + " tasks/s\n";
  out += "  latency us  p50 " + format("%.1f", s.p50_us) + "  p90 " + format("%.1f", s.p90_us) +
         "  p99 " + format("%.1f", s.p99_us) + "  max " + format("%.1f", s.max_us) + "\n";
  out += "  results    ";
  bool any = false;
  for (std::size_t i = 0; i < rc_slots; ++i) {
    if (s.results[i] == 0)
      continue;
    out += " " + rc_name(i) + " " + std::to_string(s.results[i]);
    any = true;
  }
  out += any ? "\n" : " none\n";
  out += "  errors      " + std::to_string(s.errors) + "\n";
  if (s.broker_cpu_s) {
    out += "  node CPU    " + format("%.2f", *s.broker_cpu_s) + " s (" +
           format("%.0f", s.seconds > 0 ? 100.0 * *s.broker_cpu_s / s.seconds : 0) + " %), ";
    out += (s.tasks > 0 ? format("%.2f", 1e6 * *s.broker_cpu_s / static_cast<double>(s.tasks))
                        : std::string{"-"}) +
           " ms per 1000 tasks";
    if (s.broker_rss_kib)
      out += ", RSS " + std::to_string(*s.broker_rss_kib) + " KiB";
    out += "\n";
  }
  out += "  rcbench CPU " + format("%.2f", s.bench_cpu_s) + " s\n";
  return out;
}

std::string to_json(const options& o, const load_summary& s) {
  std::string out = "{\"mode\":\"" + s.mode + "\"";
  auto num = [&out](const char* key, const std::string& value) {
    out += ",\"";
    out += key;
    out += "\":";
    out += value;
  };
  num("clients", std::to_string(o.clients));
  num("depth", std::to_string(o.depth));
  num("workers", std::to_string(o.workers));
  num("capacity", std::to_string(o.capacity));
  num("payload", std::to_string(o.payload));
  num("delay_ms", std::to_string(o.delay_ms));
  num("threads", std::to_string(o.threads));
  num("seconds", format("%.3f", s.seconds));
  num("tasks", std::to_string(s.tasks));
  num("tasks_per_s", format("%.1f", s.tasks_per_s()));
  num("p50_us", format("%.1f", s.p50_us));
  num("p90_us", format("%.1f", s.p90_us));
  num("p99_us", format("%.1f", s.p99_us));
  num("max_us", format("%.1f", s.max_us));
  out += ",\"results\":{";
  bool first = true;
  for (std::size_t i = 0; i < rc_slots; ++i) {
    if (s.results[i] == 0)
      continue;
    out += (first ? "\"" : ",\"") + rc_name(i) + "\":" + std::to_string(s.results[i]);
    first = false;
  }
  out += "}";
  num("errors", std::to_string(s.errors));
  if (s.broker_cpu_s) {
    num("broker_cpu_s", format("%.3f", *s.broker_cpu_s));
    num("broker_cpu_ms_per_1000",
        s.tasks > 0 ? format("%.3f", 1e6 * *s.broker_cpu_s / static_cast<double>(s.tasks))
                    : "null");
  }
  if (s.broker_rss_kib)
    num("broker_rss_kib", std::to_string(*s.broker_rss_kib));
  num("bench_cpu_s", format("%.3f", s.bench_cpu_s));
  out += "}\n";
  return out;
}

std::string to_text(const idle_summary& s) {
  std::string out = "rcbench: idle, " + std::to_string(s.clients) + " clients and " +
                    std::to_string(s.workers) + " workers held " + format("%.1f", s.hold_s) +
                    " s\n";
  out += "  node RSS    before " + std::to_string(s.rss_before_kib) + " KiB, with connections " +
         std::to_string(s.rss_after_kib) + " KiB, at the end " + std::to_string(s.rss_end_kib) +
         " KiB\n";
  out += "  per conn    " + format("%.0f", s.bytes_per_connection()) + " bytes\n";
  out += "  node CPU    " + format("%.3f", s.broker_cpu_s) + " s over the hold\n";
  return out;
}

std::string to_json(const idle_summary& s) {
  return "{\"mode\":\"idle\",\"idle_clients\":" + std::to_string(s.clients) +
         ",\"idle_workers\":" + std::to_string(s.workers) +
         ",\"rss_before_kib\":" + std::to_string(s.rss_before_kib) +
         ",\"rss_after_kib\":" + std::to_string(s.rss_after_kib) +
         ",\"rss_end_kib\":" + std::to_string(s.rss_end_kib) +
         ",\"bytes_per_connection\":" + format("%.0f", s.bytes_per_connection()) +
         ",\"hold_s\":" + format("%.1f", s.hold_s) +
         ",\"broker_cpu_s\":" + format("%.3f", s.broker_cpu_s) + "}\n";
}

} // namespace rcbench
