// The Prometheus rendering as a pure function of a snapshot, and the strict checker the other
// admin tests rely on (it must refuse what is wrong, or its passing would mean nothing).

#include "exposition_checker.hpp"
#include "rcbroker/admin/metrics.hpp"
#include "rcbroker/admin/process_sampler.hpp"

#include <gtest/gtest.h>

using namespace rcbroker;
using namespace rcbroker::test_support;
using protocol::result_code;

namespace {

admin::node_info info() {
  return {"node-a", "1.2.3", "http://127.0.0.1:1"};
}

std::size_t index(result_code rc) {
  return static_cast<std::size_t>(rc);
}

actors::node_snapshot busy_snapshot() {
  actors::node_snapshot s;
  s.broker.started_unix_ms = 1'700'000'000'250;
  s.broker.client_connections = 2;
  s.broker.worker_connections = 1;
  s.broker.clients_accepted = 5;
  s.broker.workers_accepted = 1;
  auto& sb = s.switchboard;
  sb.clients = 2;
  sb.workers = 1;
  sb.registered_slots = 4;
  sb.free_slots = 3;
  sb.routes = 1;
  sb.runs_accepted = 7;
  sb.results_forwarded = 6;
  sb.traffic.runs_received = 9;
  sb.traffic.worker_results[index(result_code::ok)] = 5;
  sb.traffic.worker_results[index(result_code::processor_exception)] = 1;
  sb.traffic.broker_results[index(result_code::no_capacity)] = 2;
  sb.traffic.frames_to_workers = 8;
  sb.traffic.bytes_to_workers = 800;
  sb.traffic.frames_to_clients = 6;
  sb.traffic.bytes_to_clients = 600;
  using std::chrono::milliseconds;
  sb.traffic.run_latency.observe(std::chrono::microseconds{100}); // first bucket
  sb.traffic.run_latency.observe(milliseconds{3});                // 0.005
  sb.traffic.run_latency.observe(milliseconds{3});
  sb.traffic.run_latency.observe(std::chrono::seconds{90}); // above every bound
  return s;
}

} // namespace

TEST(MetricsRender, EmptySnapshotIsValidAndComplete) {
  auto text = admin::render_metrics({}, info());
  auto e = check_exposition(text);
  ASSERT_TRUE(e.ok()) << e.error << "\n" << text;
  for (auto family : {"rcbroker_build_info",
                      "rcbroker_start_time_seconds",
                      "rcbroker_accepting",
                      "rcbroker_connections",
                      "rcbroker_connections_accepted_total",
                      "rcbroker_clients",
                      "rcbroker_workers",
                      "rcbroker_slots_registered",
                      "rcbroker_slots_free",
                      "rcbroker_routes",
                      "rcbroker_runs_queued",
                      "rcbroker_runs_received_total",
                      "rcbroker_runs_started_total",
                      "rcbroker_results_total",
                      "rcbroker_results_forwarded_total",
                      "rcbroker_results_dropped_total",
                      "rcbroker_messages_rejected_total",
                      "rcbroker_packets_refused_total",
                      "rcbroker_forwarded_frames_total",
                      "rcbroker_forwarded_bytes_total",
                      "rcbroker_run_duration_seconds"}) {
    EXPECT_TRUE(e.types.count(family)) << family;
    EXPECT_FALSE(e.help[family].empty()) << family;
  }
  // Every outcome counter exists from the start, so rate() works from the first scrape.
  EXPECT_EQ(e.value("rcbroker_packets_refused_total", {{"reason", "wrong_token"}}), 0.0);
  EXPECT_EQ(e.value("rcbroker_results_total", {{"origin", "worker"}, {"rc", "OK"}}), 0.0);
  EXPECT_EQ(e.value("rcbroker_results_total", {{"origin", "broker"}, {"rc", "NO_CAPACITY"}}), 0.0);
  EXPECT_EQ(e.value("rcbroker_results_total", {{"origin", "worker"}, {"rc", "MISSING"}}),
            std::nullopt);
  // Not clustered: no cluster families.
  EXPECT_FALSE(e.types.count("rcbroker_cluster_links"));
  EXPECT_EQ(e.value("rcbroker_build_info", {{"version", "1.2.3"}, {"node", "node-a"}}), 1.0);
}

TEST(MetricsRender, FiguresComeFromTheSnapshot) {
  auto e = check_exposition(admin::render_metrics(busy_snapshot(), info()));
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.value("rcbroker_start_time_seconds"), 1'700'000'000.25);
  EXPECT_EQ(e.value("rcbroker_accepting"), 1.0);
  EXPECT_EQ(e.value("rcbroker_connections", {{"kind", "client"}}), 2.0);
  EXPECT_EQ(e.value("rcbroker_connections", {{"kind", "worker"}}), 1.0);
  EXPECT_EQ(e.value("rcbroker_connections_accepted_total", {{"kind", "client"}}), 5.0);
  EXPECT_EQ(e.value("rcbroker_slots_registered"), 4.0);
  EXPECT_EQ(e.value("rcbroker_slots_free"), 3.0);
  EXPECT_EQ(e.value("rcbroker_routes"), 1.0);
  EXPECT_EQ(e.value("rcbroker_runs_received_total"), 9.0);
  EXPECT_EQ(e.value("rcbroker_runs_started_total"), 7.0);
  EXPECT_EQ(e.value("rcbroker_results_total", {{"origin", "worker"}, {"rc", "OK"}}), 5.0);
  EXPECT_EQ(
      e.value("rcbroker_results_total", {{"origin", "worker"}, {"rc", "PROCESSOR_EXCEPTION"}}),
      1.0);
  EXPECT_EQ(e.value("rcbroker_results_total", {{"origin", "broker"}, {"rc", "NO_CAPACITY"}}), 2.0);
  EXPECT_EQ(e.value("rcbroker_results_forwarded_total"), 6.0);
  EXPECT_EQ(e.value("rcbroker_forwarded_frames_total", {{"to", "worker"}}), 8.0);
  EXPECT_EQ(e.value("rcbroker_forwarded_bytes_total", {{"to", "client"}}), 600.0);
}

TEST(MetricsRender, LatencyHistogramIsCumulativeInSeconds) {
  auto e = check_exposition(admin::render_metrics(busy_snapshot(), info()));
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.types["rcbroker_run_duration_seconds"], "histogram");
  auto bucket = [&](const char* le) {
    return e.value("rcbroker_run_duration_seconds_bucket", {{"le", le}});
  };
  EXPECT_EQ(bucket("0.0005"), 1.0);
  EXPECT_EQ(bucket("0.0025"), 1.0);
  EXPECT_EQ(bucket("0.005"), 3.0);
  EXPECT_EQ(bucket("60"), 3.0);
  EXPECT_EQ(bucket("+Inf"), 4.0);
  EXPECT_EQ(e.value("rcbroker_run_duration_seconds_count"), 4.0);
  auto sum = e.value("rcbroker_run_duration_seconds_sum");
  ASSERT_TRUE(sum);
  EXPECT_NEAR(*sum, 0.0001 + 0.003 + 0.003 + 90, 1e-9);
}

TEST(MetricsRender, ClusterFamiliesOnlyWhenClustered) {
  auto s = busy_snapshot();
  s.switchboard.cluster_links = 2;
  s.switchboard.cluster_free_slots = 12;
  s.switchboard.cluster_runs_sent = 3;
  auto e = check_exposition(admin::render_metrics(s, info()));
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.value("rcbroker_cluster_links"), 2.0);
  EXPECT_EQ(e.value("rcbroker_cluster_free_slots"), 12.0);
  EXPECT_EQ(e.value("rcbroker_cluster_runs_sent_total"), 3.0);
  EXPECT_EQ(e.value("rcbroker_cluster_runs_received_total"), 0.0);
}

TEST(MetricsRender, LabelValuesAreEscaped) {
  auto i = info();
  i.name = "odd \"node\"\\with\nnewline";
  auto text = admin::render_metrics({}, i);
  auto e = check_exposition(text);
  ASSERT_TRUE(e.ok()) << e.error << "\n" << text;
  EXPECT_EQ(e.value("rcbroker_build_info", {{"version", "1.2.3"}, {"node", i.name}}), 1.0);
}

TEST(MetricsRender, ResultsWithoutRcAreCountedApart) {
  actors::node_snapshot s;
  s.switchboard.traffic.worker_results[actors::result_code_count] = 4;
  auto e = check_exposition(admin::render_metrics(s, info()));
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.value("rcbroker_results_total", {{"origin", "worker"}, {"rc", "MISSING"}}), 4.0);
}

TEST(ExpositionChecker, RefusesWhatIsWrong) {
  struct bad_case {
    const char* text;
    const char* why;
  };
  const bad_case cases[] = {
      {"x_total 1\n", "no TYPE"},
      {"# TYPE x counter\nx 1\n", "counter without _total"},
      {"# TYPE x_total counter\nx_total -1\n", "negative counter"},
      {"# TYPE g gauge\ng 1\ng 2\n", "duplicate series"},
      {"# TYPE g gauge\ng{a=\"1\"} 1", "no final newline"},
      {"# TYPE g gauge\ng{a=\"\\q\"} 1\n", "bad escape"},
      {"# TYPE g gauge\ng{__a=\"1\"} 1\n", "reserved label"},
      {"# TYPE g gauge\ng one\n", "bad value"},
      {"# TYPE 1g gauge\n", "bad name"},
      {"# TYPE g gauge\n# TYPE h gauge\nh 1\ng 1\n", "family not contiguous"},
      {"# TYPE g gauge\ng 1\n# TYPE g gauge\n", "second TYPE"},
      {"# TYPE g wobble\n", "unknown type"},
      {"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
       "not cumulative"},
      {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "no +Inf"},
      {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n", "count differs"},
      {"# TYPE g gauge\n\ng 1\n", "empty line"},
  };
  for (auto& c : cases)
    EXPECT_FALSE(check_exposition(c.text).ok()) << c.why;
  EXPECT_TRUE(
      check_exposition("# HELP g a \\\\ b\n# TYPE g gauge\ng{a=\"x\",b=\"\\\"\"} 1.5\n").ok());
}

TEST(MetricsRender, ProcStatIsReadPastACommandNameWithSpaces) {
  // pid (comm) state ppid ... : fields 14/15 utime/stime, 20 threads, 22 starttime, 23 vsize,
  // 24 rss (pages).
  std::string stat = "4242 (rc broker) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
                     "250 150 0 0 20 0 7 0 1000 123456789 300 18446744073709551615\n";
  auto p = admin::parse_proc_stat(stat, 100, 4096, 1'700'000'000.0);
  EXPECT_DOUBLE_EQ(p.cpu_seconds, 4.0); // (250 + 150) / 100
  EXPECT_EQ(p.threads, 7u);
  EXPECT_DOUBLE_EQ(p.start_time_seconds, 1'700'000'010.0); // boot + 1000 / 100
  EXPECT_EQ(p.virtual_bytes, 123456789u);
  EXPECT_EQ(p.resident_bytes, 300u * 4096);
  EXPECT_EQ(admin::parse_proc_stat("garbage", 100, 4096, 0).threads, 0u);
  // A sampled snapshot renders the process families; an unsampled one does not.
  actors::node_snapshot s;
  EXPECT_EQ(admin::render_metrics(s, info()).find("process_"), std::string::npos);
  s.process = p;
  auto e = check_exposition(admin::render_metrics(s, info()));
  ASSERT_TRUE(e.ok()) << e.error;
  EXPECT_EQ(e.value("process_threads", {}), 7.0);
}
