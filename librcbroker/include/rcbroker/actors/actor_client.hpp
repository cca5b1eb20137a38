#pragma once

#include "rcbroker/actors/messages.hpp"

#include <caf/fwd.hpp>
#include <functional>
#include <string>
#include <vector>

namespace rcbroker::actors {

/// Spawns a client actor on `sys` that joins `sb` (a local Switchboard, or another node's cluster
/// face) as a client. Each `(run_atom, pipeline, variables)` request sends a RUN with a fresh
/// cookie and is answered with the run's outcome; `(run_atom, pipeline, variables, run_settings)`
/// also sets its priority and retries (retries out of 0 to 1000 is answered BAD_PACKET; with
/// retries the outcome's `attempts` is set). If the Switchboard goes down, every open run is
/// answered BROKER_WENT_AWAY, as the original client does when its connection drops.
actor_client_actor spawn_actor_client(caf::actor_system& sys, submission_actor sb);

/// What an actor worker does with one RUN: takes the pipeline and the variables (JSON text) and
/// returns the result JSON text. An exception becomes RESULT PROCESSOR_EXCEPTION with its text.
using actor_task_handler =
    std::function<std::string(const std::string& pipeline, const std::string& variables)>;

/// Spawns a worker actor on `sys` that joins `sb` (a local Switchboard, or another node's cluster
/// face, which wants the node's worker token when it has one) as a worker with `capacity` slots
/// and answers each RUN with `handler`, called in the actor (so tasks run one at a time;
/// it suits harnesses and light work: in a node, actors run on the I/O thread, so a slow handler
/// holds up every socket; spawn heavier workers in a system of their own). With `pipelines` (not
/// empty, no empty name) it serves only those pipelines. It ends on SHUTDOWN or when the
/// Switchboard goes down.
peer_actor spawn_actor_worker(caf::actor_system& sys, submission_actor sb, std::uint32_t capacity,
                              actor_task_handler handler, std::string token = {},
                              std::vector<std::string> pipelines = {});

} // namespace rcbroker::actors
