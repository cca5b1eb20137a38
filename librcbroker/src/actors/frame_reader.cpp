#include "rcbroker/actors/frame_reader.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace rcbroker::actors {

namespace {

// A class, not a function: CAF 0.17 spawns an argument-less function actor by dereferencing a
// null argument tuple, which UBSan rightly stops on.
class frame_reader : public frame_reader_actor::base {
public:
  using frame_reader_actor::base::base;

  frame_reader_actor::behavior_type make_behavior() override {
    return {[](read_atom, const frame& f) { return protocol::read_packet(f); }};
  }
};

} // namespace

frame_reader_actor spawn_frame_reader(caf::actor_system& sys) {
  return sys.spawn<frame_reader, caf::detached>();
}

} // namespace rcbroker::actors
