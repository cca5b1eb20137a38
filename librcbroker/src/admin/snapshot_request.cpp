#include "rcbroker/admin/snapshot_request.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

namespace rcbroker::admin {

namespace {

// Each request is its own actor: it lives while its request is pending (CAF keeps an actor with
// an awaited response alive) and ends with the answer or the timeout. The state travels as spawn
// arguments, not lambda captures: CAF 0.17 dereferences a null argument tuple for a spawned
// function without arguments (UBSan reports it).

void ask_snapshot(caf::event_based_actor* self, actors::broker_actor broker,
                  std::chrono::milliseconds timeout,
                  std::function<void(std::optional<actors::node_snapshot>)> done) {
  self->request(broker, timeout, actors::metrics_atom::value)
      .then([done](actors::node_snapshot& s) { done(std::move(s)); },
            [done](caf::error&) { done(std::nullopt); });
}

void ask_health(caf::event_based_actor* self, actors::broker_actor broker,
                std::chrono::milliseconds timeout, std::function<void(bool)> done) {
  self->request(broker, timeout, actors::health_atom::value)
      .then([done](bool accepting) { done(accepting); }, [done](caf::error&) { done(false); });
}

} // namespace

void request_snapshot(caf::actor_system& sys, const actors::broker_actor& broker,
                      std::chrono::milliseconds timeout,
                      std::function<void(std::optional<actors::node_snapshot>)> done) {
  sys.spawn(ask_snapshot, broker, timeout, std::move(done));
}

void request_health(caf::actor_system& sys, const actors::broker_actor& broker,
                    std::chrono::milliseconds timeout, std::function<void(bool)> done) {
  sys.spawn(ask_health, broker, timeout, std::move(done));
}

} // namespace rcbroker::admin
