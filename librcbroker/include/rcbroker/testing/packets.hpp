#pragma once

// The packets the harness's scripted peers write and read. Every use of the protocol codec in
// the harness is in packets.cpp.

#include "rcbroker/protocol/cookie.hpp"
#include "rcbroker/protocol/frame.hpp"
#include "rcbroker/protocol/packet.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::testing {

using protocol::cookie;
using protocol::frame;
using protocol::packet_type;
using protocol::result_code;

/// A RUN as a worker reads it.
struct worker_task {
  cookie id;             ///< the task's cookie
  std::string pipeline;  ///< what to run
  std::string variables; ///< JSON text, as the client sent it ("" when null)
  bool detach = false;   ///< whether the client waits for no RESULT
};

/// A packet the Switchboard delivered to a worker: RUN (with its task), CANCEL or SHUTDOWN.
struct worker_packet {
  packet_type type = packet_type::run; ///< RUN, CANCEL or SHUTDOWN
  worker_task task;                    ///< RUN: the task; CANCEL: `task.id` alone
};

/// A RESULT as a client reads it.
struct received_result {
  cookie id;                           ///< the run it answers
  result_code rc = result_code::ok;    ///< its outcome
  std::optional<std::string> result;   ///< the worker's result JSON text
  std::optional<std::string> error;    ///< what went wrong
  std::vector<std::string> stacktrace; ///< the worker's trace, a line an element
  frame bytes;                         ///< the packet as delivered
};

/// A client's RUN, as an original client writes it.
frame client_run_packet(const cookie& c, std::string_view pipeline, std::string_view variables,
                        bool detach);

/// A client's CANCEL for `c`.
frame client_cancel_packet(const cookie& c);

/// A worker's RESULT for `c`.
frame worker_result_packet(const cookie& c, result_code rc,
                           const std::optional<std::string>& result,
                           const std::optional<std::string>& error = {},
                           const std::vector<std::string>& stacktrace = {});

/// Reads `f` as a client does; nullopt unless it is a RESULT with a cookie and a known `rc`.
std::optional<received_result> read_received_result(const frame& f);

/// Reads `f` as a worker does; nullopt when a worker could not act on it.
std::optional<worker_packet> read_worker_packet(const frame& f);

} // namespace rcbroker::testing
