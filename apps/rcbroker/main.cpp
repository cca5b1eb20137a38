// rcbroker: the broker node. Run `rcbroker --help` for its options; `scripts/run` builds it and
// starts it with the defaults of caf-application.conf.

#include "rcbroker/node/descriptor_budget.hpp"
#include "rcbroker/node/effective_settings.hpp"
#include "rcbroker/node/logging.hpp"
#include "rcbroker/node/node.hpp"
#include "rcbroker/node/options.hpp"

#include <csignal>
#include <fstream>
#include <iostream>
#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

namespace {

/// Which configuration file a start reads, for --check-config and the log.
std::string describe_config_file(const std::string& file, bool explicit_file) {
  if (std::ifstream{file}.good())
    return file + " (read)";
  return "none (" + file + (explicit_file ? " not readable" : " not in the working directory") +
         "): built-in defaults";
}

/// Large buffers (frames above 256 KiB, a peer's write backlog) come from mmap and go back to
/// the system when freed: glibc's adaptive threshold would otherwise keep the memory of a burst
/// of large frames resident long after it ended.
void return_large_buffers_to_the_system() {
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
}

int fail(const std::string& message, int code = 2) {
  std::cerr << "rcbroker: error: " << message << "\n";
  return code;
}

} // namespace

int main(int argc, char** argv) {
  using namespace rcbroker::node;
  return_large_buffers_to_the_system();
  auto cl = parse_command_line({argv + 1, argv + argc});
  if (!cl.error.empty())
    return fail(cl.error);
  if (cl.help) {
    std::cout << help_text("rcbroker");
    return 0;
  }
  bool explicit_file = !cl.config_file.empty();
  std::string file = explicit_file ? cl.config_file : default_config_file;
  settings s;
  if (auto err = load_config_file(file, explicit_file, s); !err.empty())
    return fail(err);
  apply_environment(s);
  if (auto err = apply_command_line(cl, s); !err.empty())
    return fail(err);
  if (auto err = validate(s); !err.empty())
    return fail(err);
  // Before anything is bound: connections past the limit would starve REGISTERs and /metrics.
  auto descriptors = raise_descriptor_limit(s);
  if (auto err = descriptors.error(); !err.empty())
    return fail(err);
  if (cl.check_config) {
    caf::actor_system_config check;
    std::vector<std::string> caf_args = cl.caf_args;
    if (auto err = check.parse(caf_args, std::ifstream{file}.good() ? file.c_str() : nullptr))
      return fail("CAF settings: " + check.render(err));
    std::cout << "; config file: " << describe_config_file(file, explicit_file) << "\n"
              << "; the file and the command line are valid; the effective settings:\n"
              << "; (actors run on the I/O thread: CAF's [scheduler] settings are not used)\n"
              << "; " << descriptors.summary() << "\n"
              << "[broker]\n"
              << render_settings(s);
    return 0;
  }
  if (auto err = setup_logging(s); !err.empty())
    return fail(err);
  spdlog::info("{}", descriptors.summary());
  if (auto warning = descriptors.warning(); !warning.empty())
    spdlog::warn("{}", warning);

  caf::actor_system_config cfg;
  std::vector<std::string> caf_args = cl.caf_args;
  if (auto err = cfg.parse(caf_args, std::ifstream{file}.good() ? file.c_str() : nullptr))
    return fail("CAF settings: " + cfg.render(err));

  // Signals are taken by sigwait below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<node> n;
  try {
    n = std::make_unique<node>(s, cfg);
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return fail(e.what(), 1);
  }
  // The endpoints are bound by now (the Broker logs each as it starts accepting, possibly later):
  // the ready line names them, so that whoever waits for it knows where to connect.
  spdlog::info("rcbroker ready: clients on {}, workers on {} (config file: {}); stop with Ctrl-C "
               "or SIGTERM",
               fmt::join(n->client_urls(), " "), fmt::join(n->worker_urls(), " "),
               describe_config_file(file, explicit_file));
  int sig = 0;
  // SIGHUP, as logrotate sends it after moving the log away, opens the log file again.
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    if (auto err = reopen_log_file(); !err.empty())
      spdlog::warn("SIGHUP: cannot open the log file again ({}); logging on to the old one", err);
    else
      spdlog::info("SIGHUP: log file opened again");
  }
  const char* name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGUSR2";
  if (sig == SIGUSR2 || s.drain_timeout.count() > 0) {
    auto timeout = s.drain_timeout.count() > 0 ? s.drain_timeout : std::chrono::seconds{30};
    spdlog::info("received {}, draining for up to {} ms, then shutting down", name,
                 timeout.count());
    n->drain(timeout);
  } else {
    spdlog::info("received {}, shutting down", name);
  }
  n->shutdown();
  return 0;
}
