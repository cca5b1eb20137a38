// rcworker: a worker for a broker that echoes each task's variables back as its result, or runs a
// shell command per task.
//
//   build/apps/rcworker --capacity 4
//   build/apps/rcworker --endpoint socket:///tmp/reasonchip-broker-worker.sock --exec 'jq .x'
//
// It reconnects (and registers again) when the broker goes away, exits 0 on SIGINT, SIGTERM or
// the broker's SHUTDOWN; `rcworker --help` explains every option.

#include "rcbroker/cli/command_line.hpp"
#include "rcbroker/client/worker.hpp"
#include "rcbroker/node/settings.hpp"
#include "shell_command.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* default_endpoint = "tcp://[::1]:51510";
using namespace rcbroker::cli::exit_code;

constexpr const char* help_text =
    R"(Usage: rcworker [--capacity N] [--endpoint URL] [--delay-ms D] [--exec CMD]
                [--pipelines LIST] [--token T] [--log-level LEVEL]
                [--tls-ca FILE] [--tls-cert FILE --tls-key FILE]

A worker for the broker: it connects to a worker endpoint, registers its
capacity and answers every task. By default a task's result is its variables,
echoed back. It reconnects with backoff (100 ms doubling to 5 s) when the
broker cannot be reached or goes away (refused, reset, timed out), and exits
0 on SIGINT, SIGTERM or the broker's SHUTDOWN. A failure that no retry would
mend (a refused token, a TLS certificate that does not verify) ends it.

Options:
  --capacity N      tasks run at once, registered with the broker (default: 1)
  --endpoint URL    the broker's worker endpoint: tcp://HOST:PORT,
                    tcp://[V6ADDR]:PORT, tls://HOST:PORT or socket:///PATH
                    (default: tcp://[::1]:51510)
  --tls-ca FILE     for a tls:// endpoint: the CA certificate(s) (PEM) the
                    node's certificate must chain to (default: the system's
                    CAs); the certificate must also name the endpoint's host
  --tls-cert FILE   for a tls:// endpoint: a client certificate (PEM) for a
                    node that asks for one (its tls-client-ca); needs --tls-key
  --tls-key FILE    the client certificate's private key (PEM, unencrypted)
  --delay-ms D      wait D milliseconds before answering each task; a CANCEL
                    during the wait ends the task with EXCEPTION "Cancelled"
                    (default: 0)
  --exec CMD        run CMD with /bin/sh -c for each task instead of echoing:
                    the variables go to its stdin, RC_PIPELINE and RC_COOKIE
                    to its environment, and its stdout is the result; a
                    non-zero exit gives PROCESSOR_EXCEPTION with its stderr
                    text; a CANCEL kills it. Each line CMD writes to file
                    descriptor 3 (e.g. echo '"half"' >&3) is sent as a
                    PROGRESS packet, that line its result (JSON text), to a
                    client that asked for progress, before the result
  --pipelines LIST  serve only these pipelines (comma-separated names, e.g.
                    echo,upper): the node sends this worker no other RUN
                    (default: every pipeline)
  --token T         send T in the REGISTER packet's extension field "token"
  --log-level L     trace, debug (one line per task), info (connections,
                    registrations, reconnects), warn, error, critical or off,
                    in any case (WARNING as the original spells it; default:
                    info)
  --help            print this text and exit
  --version         print the version and exit

Options take their value as --opt VALUE or --opt=VALUE.

Exit status:
  0   stopped by SIGINT, SIGTERM or the broker's SHUTDOWN
  64  usage error (bad option or value, an endpoint URL that does not parse
      or is not tcp://, tls:// or socket://)
  69  another permanent failure: the endpoint cannot be used (EX_UNAVAILABLE)
  77  the node refused the worker (a missing or wrong --token), or TLS
      verification failed: the node's certificate does not verify against
      --tls-ca or does not name the host, or the node asks for a client
      certificate and none was given, or refuses the one given (EX_NOPERM)
)";

struct command_line {
  rcbroker::client::worker_options worker;
  std::chrono::milliseconds delay{0};
  std::optional<std::string> exec;
  std::string log_level = "info";
  bool help = false;
  bool version = false;
};

int usage_error(const std::string& message) {
  return rcbroker::cli::usage_error("rcworker", message, std::cerr);
}

// Reads a whole non-negative decimal number; nullopt when `text` is not one.
std::optional<long long> whole_number(const std::string& text) {
  if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(text);
}

// Splits "a,b,c" into its names; nullopt when a name is empty.
std::optional<std::vector<std::string>> comma_separated(const std::string& text) {
  std::vector<std::string> names;
  std::size_t start = 0;
  for (;;) {
    auto comma = text.find(',', start);
    auto name = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name.empty())
      return std::nullopt;
    names.push_back(std::move(name));
    if (comma == std::string::npos)
      return names;
    start = comma + 1;
  }
}

// Parses the arguments; returns an error text, or "" when they are fine.
std::string parse(const std::vector<std::string>& args, command_line& cl) {
  cl.worker.endpoint = default_endpoint;
  rcbroker::cli::argument_reader reader{args};
  while (auto a = reader.next()) {
    const std::string& name = a->name;
    if (a->positional)
      return "unexpected argument '" + name + "'";
    if (name == "--help" || name == "-h" || name == "--version") {
      if (auto error = rcbroker::cli::no_value_expected(*a); !error.empty())
        return error;
      (name == "--version" ? cl.version : cl.help) = true;
      continue;
    }
    if (name != "--capacity" && name != "--endpoint" && name != "--delay-ms" && name != "--exec" &&
        name != "--token" && name != "--log-level" && name != "--tls-ca" && name != "--tls-cert" &&
        name != "--tls-key" && name != "--pipelines")
      return rcbroker::cli::unknown_option(*a);
    auto v = reader.value_of(*a);
    if (!v)
      return rcbroker::cli::needs_value(*a);
    const std::string& value = *v;
    if (name == "--capacity") {
      auto n = whole_number(value);
      if (!n || *n < 1 || *n > 100000)
        return "--capacity needs a whole number from 1 to 100000, not '" + value + "'";
      cl.worker.capacity = *n;
    } else if (name == "--delay-ms") {
      auto n = whole_number(value);
      if (!n)
        return "--delay-ms needs a whole number of milliseconds, not '" + value + "'";
      cl.delay = std::chrono::milliseconds{*n};
    } else if (name == "--endpoint") {
      cl.worker.endpoint = value;
    } else if (name == "--exec") {
      cl.exec = value;
    } else if (name == "--token") {
      cl.worker.token = value;
    } else if (name == "--pipelines") {
      auto names = comma_separated(value);
      if (!names)
        return "--pipelines needs comma-separated non-empty names, not '" + value + "'";
      cl.worker.pipelines = std::move(names);
    } else if (name == "--tls-ca") {
      cl.worker.tls.ca_file = value;
    } else if (name == "--tls-cert") {
      cl.worker.tls.cert_file = value;
    } else if (name == "--tls-key") {
      cl.worker.tls.key_file = value;
    } else {
      // In any case, WARNING as the original spells it.
      cl.log_level = rcbroker::node::canonical_log_level(value);
      if (spdlog::level::from_str(cl.log_level) == spdlog::level::off && cl.log_level != "off")
        return "--log-level must be trace, debug, info, warn, error, critical or off, not '" +
               value + "'";
    }
  }
  if (cl.worker.tls.cert_file.empty() != cl.worker.tls.key_file.empty())
    return "--tls-cert and --tls-key go together";
  return {};
}

int failure_status(rcbroker::client::connection_failure::kind what) {
  using kind = rcbroker::client::connection_failure::kind;
  return what == kind::refused || what == kind::untrusted ? no_permission : unavailable;
}

void configure_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("rcworker");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

} // namespace

int main(int argc, char** argv) {
  command_line cl;
  if (auto error = parse({argv + 1, argv + argc}, cl); !error.empty())
    return usage_error(error);
  if (cl.help) {
    std::cout << help_text;
    return 0;
  }
  if (cl.version) {
    std::cout << rcbroker::cli::version_text("rcworker");
    return 0;
  }
  configure_logging(cl.log_level);

  // Signals are taken by sigwait below; block them before any thread starts. A command whose
  // stdin closes early must not kill the worker with SIGPIPE.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto delay = cl.delay;
  auto exec = cl.exec;
  std::optional<rcbroker::client::worker> worker;
  try {
    worker.emplace(cl.worker, [delay, exec](rcbroker::client::task_context& task) {
      if (delay.count() > 0 && task.wait_for_cancel(delay))
        throw rcbroker::client::task_cancelled{};
      if (exec)
        return rcworker::run_shell_command(*exec, task);
      return task.variables();
    });
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  }
  std::string serves = "every pipeline";
  if (cl.worker.pipelines) {
    serves = "pipelines";
    for (auto& name : *cl.worker.pipelines)
      serves += " " + name;
  }
  spdlog::info("rcworker: capacity {}, serving {}, connecting to {}", cl.worker.capacity, serves,
               cl.worker.endpoint);

  std::atomic<bool> finished{false};
  std::thread signal_watcher{[&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (finished)
      return;
    spdlog::info("rcworker: received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    worker->stop();
  }};
  auto why = worker->run();
  if (why == rcbroker::client::stop_reason::shutdown)
    spdlog::info("rcworker: the broker shut down; exiting");
  finished = true;
  pthread_kill(signal_watcher.native_handle(), SIGTERM); // wakes sigwait if no signal came
  signal_watcher.join();
  auto failure = worker->failure();
  worker.reset();
  if (why != rcbroker::client::stop_reason::failed || !failure)
    return 0;
  std::cerr << "rcworker: " << failure->message << "\n";
  return failure_status(failure->what);
}
