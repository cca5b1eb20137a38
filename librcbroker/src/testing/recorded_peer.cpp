#include "rcbroker/testing/recorded_peer.hpp"

#include "rcbroker/testing/deterministic_system.hpp"

#include <caf/actor_cast.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace rcbroker::testing {

namespace {

using inbox_ptr = std::shared_ptr<std::vector<actors::frame>>;
using count_ptr = std::shared_ptr<std::size_t>;

actors::peer_actor::behavior_type recorder(actors::peer_actor::pointer, inbox_ptr inbox,
                                           count_ptr deliveries) {
  return {[inbox, deliveries](actors::deliver_atom, const actors::frame& f) {
            ++*deliveries;
            inbox->push_back(f);
          },
          [inbox, deliveries](actors::deliver_atom, const std::vector<actors::frame>& fs) {
            ++*deliveries;
            inbox->insert(inbox->end(), fs.begin(), fs.end());
          }};
}

} // namespace

std::vector<actors::frame> recorded_peer::take() {
  auto frames = std::move(*inbox);
  inbox->clear();
  return frames;
}

recorded_peer spawn_recorded_peer(deterministic_system& sys) {
  recorded_peer peer;
  peer.inbox = std::make_shared<std::vector<actors::frame>>();
  // State goes in as spawn arguments: CAF 0.17's spawn of a function without arguments
  // dereferences a null tuple pointer (UBSan reports it).
  peer.handle = sys.system().spawn(recorder, peer.inbox, peer.deliveries);
  sys.stop_at_end(caf::actor_cast<caf::actor>(peer.handle));
  return peer;
}

} // namespace rcbroker::testing
