#include "rcbroker/testing/packets.hpp"

#include "rcbroker/protocol/packet_reader.hpp"
#include "rcbroker/protocol/packet_writer.hpp"

namespace rcbroker::testing {

frame client_run_packet(const cookie& c, std::string_view pipeline, std::string_view variables,
                        bool detach) {
  return protocol::make_run(c, pipeline, variables, detach);
}

frame client_cancel_packet(const cookie& c) {
  return protocol::make_cancel(c);
}

frame worker_result_packet(const cookie& c, result_code rc,
                           const std::optional<std::string>& result,
                           const std::optional<std::string>& error,
                           const std::vector<std::string>& stacktrace) {
  std::optional<std::vector<std::string>> trace;
  if (!stacktrace.empty())
    trace = stacktrace;
  return protocol::make_result(c, rc, result, error, trace);
}

std::optional<received_result> read_received_result(const frame& f) {
  auto r = protocol::read_packet(f, protocol::read_scope::whole);
  if (!r.ok() || !protocol::check_result_packet(r.fields).empty() || !r.fields.cookie)
    return std::nullopt;
  auto& x = r.fields;
  return received_result{
      *x.cookie, *x.rc, x.result, x.error, x.stacktrace.value_or(std::vector<std::string>{}), f};
}

std::optional<worker_packet> read_worker_packet(const frame& f) {
  auto r = protocol::read_packet(f, protocol::read_scope::whole);
  if (!r.ok() || !protocol::check_worker_packet(r.fields).empty())
    return std::nullopt;
  auto& x = r.fields;
  worker_packet p;
  p.type = *x.type;
  if (x.cookie)
    p.task.id = *x.cookie;
  p.task.pipeline = x.pipeline.value_or("");
  p.task.variables = x.variables.value_or("");
  p.task.detach = x.detach;
  return p;
}

} // namespace rcbroker::testing
