// rcbench: load generator for an rcbroker node, measured against a direct baseline.
//
// Start a node, then point rcbench at its endpoints, e.g.
//   build/apps/rcbroker --serve tcp://[::1]:51500 --listen tcp://[::1]:51510 &
//   build/apps/rcbench --clients 8 --depth 8 --workers 4 --capacity 16 --payload 256
//     --warmup 1 --duration 5 --broker-pid $!      (all on one line)
//   build/apps/rcbench --clients 8 --depth 8 --workers 4 --capacity 16 --payload 256 --direct
// Idle memory: rcbench --idle-clients 1000 --idle-workers 100 --hold 10 --broker-pid PID.
// `rcbench --help` explains every option; scripts/bench runs the documented shapes.

#include "idle_run.hpp"
#include "load_run.hpp"
#include "options.hpp"
#include "rcbroker/cli/command_line.hpp"

#include <csignal>
#include <iostream>
#include <stdexcept>
#include <sys/resource.h>

namespace {

// Idle mode and large shapes hold many sockets: take the hard limit of open files.
void raise_file_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = rcbench::parse_options({argv + 1, argv + argc});
  if (!parsed.error.empty())
    return rcbroker::cli::usage_error("rcbench", parsed.error, std::cerr);
  const auto& o = parsed.value;
  if (o.help) {
    std::cout << rcbench::help_text();
    return 0;
  }
  if (o.version) {
    std::cout << rcbroker::cli::version_text("rcbench");
    return 0;
  }
  // A node that goes away mid-write must not kill rcbench: the write fails and is counted.
  std::signal(SIGPIPE, SIG_IGN);
  raise_file_limit();
  try {
    return o.idle_mode() ? rcbench::run_idle(o) : rcbench::run_load(o);
  } catch (const std::invalid_argument& e) { // an endpoint URL that does not parse
    return rcbroker::cli::usage_error("rcbench", e.what(), std::cerr);
  }
}
