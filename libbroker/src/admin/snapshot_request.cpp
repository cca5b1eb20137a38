#include "broker/admin/snapshot_request.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

namespace broker::admin {

// Each request is its own actor: it lives while its request is pending (CAF keeps an actor with
// an awaited response alive) and ends with the answer or the timeout.

void request_snapshot(caf::actor_system& sys, const actors::broker_actor& broker,
                      std::chrono::milliseconds timeout,
                      std::function<void(std::optional<actors::node_snapshot>)> done) {
  sys.spawn([broker, timeout, done = std::move(done)](caf::event_based_actor* self) {
    self->request(broker, timeout, actors::metrics_atom::value)
        .then([done](actors::node_snapshot& s) { done(std::move(s)); },
              [done](caf::error&) { done(std::nullopt); });
  });
}

void request_health(caf::actor_system& sys, const actors::broker_actor& broker,
                    std::chrono::milliseconds timeout, std::function<void(bool)> done) {
  sys.spawn([broker, timeout, done = std::move(done)](caf::event_based_actor* self) {
    self->request(broker, timeout, actors::health_atom::value)
        .then([done](bool accepting) { done(accepting); }, [done](caf::error&) { done(false); });
  });
}

} // namespace broker::admin
