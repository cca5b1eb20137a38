#include "broker/actors/frame_reader.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace broker::actors {

namespace {

frame_reader_actor::behavior_type frame_reader(frame_reader_actor::pointer) {
  return {[](read_atom, const frame& f) { return protocol::read_packet(f); }};
}

} // namespace

frame_reader_actor spawn_frame_reader(caf::actor_system& sys) {
  return sys.spawn<caf::detached>(frame_reader);
}

} // namespace broker::actors
