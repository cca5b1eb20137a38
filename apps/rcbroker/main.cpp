// rcbroker: the broker node. Run `rcbroker --help` for its options; `scripts/run` builds it and
// starts it with the defaults of caf-application.conf.

#include "rcbroker/cli/command_line.hpp"
#include "rcbroker/node/config_file.hpp"
#include "rcbroker/node/descriptor_budget.hpp"
#include "rcbroker/node/effective_settings.hpp"
#include "rcbroker/node/logging.hpp"
#include "rcbroker/node/node.hpp"
#include "rcbroker/node/options.hpp"
#include "rcbroker/node/start_check.hpp"

#include <csignal>
#include <fstream>
#include <iostream>
#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

namespace {

/// A config value as CAF's parser reads it back (CAF writes a zero duration as "0d", which it does
/// not parse).
std::string config_text(const caf::config_value& v) {
  auto span = caf::get_if<caf::timespan>(&v);
  if (span == nullptr)
    return caf::to_string(v);
  auto ns = span->count();
  if (ns % 1'000'000'000 == 0)
    return std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0)
    return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0)
    return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

/// CAF's effective settings, as commented sections of `key = value` lines (some of CAF's
/// defaults, such as max-throughput's, do not read back as values).
void print_caf_settings(std::ostream& out, const caf::settings& all) {
  for (auto& [section, value] : all) {
    auto entries = caf::get_if<caf::settings>(&value);
    if (entries == nullptr || section == "broker")
      continue;
    out << "; [" << section << "]\n";
    for (auto& [key, v] : *entries)
      out << ";   " << key << " = " << config_text(v) << "\n";
  }
}

/// Large buffers (frames above 256 KiB, a peer's write backlog) come from mmap and go back to
/// the system when freed: glibc's adaptive threshold would otherwise keep the memory of a burst
/// of large frames resident long after it ended.
void return_large_buffers_to_the_system() {
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
}

constexpr const char* program = "rcbroker";

/// A failure that is not the command line's: "rcbroker: error: MESSAGE", exit `code`
/// (rcbroker/cli/exit_code.hpp): 78 for the configuration, 65 for an unusable journal file, 69
/// when the node cannot start.
int fail(const std::string& message, int code = rcbroker::cli::exit_code::config) {
  return rcbroker::cli::fail(program, message, code, std::cerr);
}

} // namespace

int main(int argc, char** argv) {
  using namespace rcbroker::node;
  return_large_buffers_to_the_system();
  auto cl = parse_command_line({argv + 1, argv + argc});
  if (!cl.error.empty())
    return rcbroker::cli::usage_error(program, cl.error, std::cerr);
  if (cl.help) {
    std::cout << help_text(program);
    return 0;
  }
  if (cl.version) {
    std::cout << rcbroker::cli::version_text(program);
    return 0;
  }
  auto choice = find_config_file(cl.config_file);
  const std::string& file = choice.path;
  settings s;
  if (!file.empty())
    if (auto err = load_config_file(file, choice.required, s); !err.empty())
      return fail(err + (choice.origin == config_file_variable
                             ? std::string{" (named by $"} + config_file_variable + ")"
                             : std::string{}));
  apply_environment(s);
  if (auto err = apply_command_line(cl, s); !err.empty())
    return rcbroker::cli::usage_error(program, err, std::cerr);
  if (auto err = validate(s); !err.empty())
    return fail(err);
  // Before anything is bound: connections past the limit would starve REGISTERs and /metrics.
  auto descriptors = raise_descriptor_limit(s);
  if (auto err = descriptors.error(); !err.empty())
    return fail(err);
  // What --check-config checks, a start checks too, with the same error and exit status (78).
  if (auto err = check_start_files(s); !err.empty())
    return fail(err);
  if (cl.check_config) {
    caf::actor_system_config check;
    std::vector<std::string> caf_args = cl.caf_args;
    if (auto err = check.parse(caf_args, file.empty() ? nullptr : file.c_str()))
      return fail("CAF settings: " + check.render(err));
    std::cout
        << "; config file: " << describe(choice) << "\n"
        << "; the file, the command line and the files they name are valid; the effective "
           "settings:\n"
        << "; " << descriptors.summary() << "\n"
        << "[broker]\n"
        << render_settings(s)
        << "; CAF's own, for reference (actors run on the I/O thread: [scheduler] is not used):\n";
    print_caf_settings(std::cout, check.dump_content());
    return 0;
  }
  if (auto err = setup_logging(s); !err.empty())
    return fail(err);
  spdlog::info("{}", descriptors.summary());
  if (auto warning = descriptors.warning(); !warning.empty())
    spdlog::warn("{}", warning);

  caf::actor_system_config cfg;
  std::vector<std::string> caf_args = cl.caf_args;
  if (auto err = cfg.parse(caf_args, file.empty() ? nullptr : file.c_str()))
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
  } catch (const rcbroker::node::unusable_journal& e) {
    spdlog::error("cannot start: {}", e.what());
    return fail(e.what(), rcbroker::cli::exit_code::data_error);
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return fail(e.what(), rcbroker::cli::exit_code::unavailable);
  }
  // The endpoints are bound by now (the Broker logs each as it starts accepting, possibly later):
  // the ready line names them, so that whoever waits for it knows where to connect.
  spdlog::info("rcbroker ready: clients on {}, workers on {} (config file: {}); stop with Ctrl-C "
               "or SIGTERM",
               fmt::join(n->client_urls(), " "), fmt::join(n->worker_urls(), " "),
               describe(choice));
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
