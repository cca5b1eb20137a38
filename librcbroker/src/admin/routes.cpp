#include "rcbroker/admin/routes.hpp"

#include "rcbroker/admin/metrics.hpp"
#include "rcbroker/admin/process_sampler.hpp"
#include "rcbroker/admin/snapshot_request.hpp"
#include "rcbroker/admin/status_json.hpp"

#include <caf/actor_system.hpp>

namespace rcbroker::admin {

namespace {

// The Broker answers at once unless it is swamped; a scrape should fail well before
// Prometheus's own timeout (10 s by default).
constexpr std::chrono::milliseconds snapshot_timeout{3000};

http_response unavailable() {
  http_response r;
  r.status = 503;
  r.body = "the node did not answer in time\n";
  return r;
}

} // namespace

request_handler make_routes(caf::actor_system& sys, actors::broker_actor broker, node_info info) {
  return [&sys, broker, info](std::string_view path, respond_fn respond) {
    if (path == "/healthz") {
      request_health(sys, broker, snapshot_timeout, [respond](bool accepting) {
        http_response r;
        r.status = accepting ? 200 : 503;
        r.body = accepting ? "ok\n" : "shutting down\n";
        respond(std::move(r));
      });
    } else if (path == "/metrics" || path == "/status") {
      bool metrics = path == "/metrics";
      request_snapshot(sys, broker, snapshot_timeout,
                       [respond, info, metrics](std::optional<actors::node_snapshot> s) {
                         if (!s)
                           return respond(unavailable());
                         http_response r;
                         if (metrics) {
                           s->process = sample_this_process();
                           r.content_type = metrics_content_type;
                           r.body = render_metrics(*s, info);
                         } else {
                           r.content_type = "application/json";
                           r.body = render_status_json(*s, info);
                         }
                         respond(std::move(r));
                       });
    } else {
      http_response r;
      r.status = 404;
      r.body = "not found; try /metrics, /healthz or /status\n";
      respond(std::move(r));
    }
  };
}

} // namespace rcbroker::admin
