#include "options.hpp"

#include "rcbroker/cli/command_line.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <type_traits>

namespace rcbench {

namespace {

struct option_line {
  const char* flag;
  const char* description;
};

constexpr const char* load_intro =
    "Load mode (default): K client connections each keep D RUNs in flight; rcbench runs W workers "
    "of capacity C itself, connected to the node, which answer every RUN with a RESULT echoing "
    "the variables. A RESULT of any rc (NO_CAPACITY too) frees its slot, which sends the next RUN "
    "at once; tasks/s and latency count rc OK only, the summary counts results by rc. After "
    "--warmup seconds, --duration seconds are measured. A progress line goes to stderr every "
    "second, the summary to stdout.";

constexpr option_line load_options[] = {
    {"--clients K", "client connections (default 1, at most 65535)"},
    {"--depth D", "RUNs each client keeps in flight (default 1, at most 4096)"},
    {"--workers W", "worker connections (default 1, at most 4096)"},
    {"--capacity C", "capacity each worker registers (default 1; --direct answers every RUN)"},
    {"--delay-ms MS", "a worker answers each RUN after MS milliseconds (default 0: at once)"},
    {"--payload S", "bytes of the RUN's variables JSON text (default 64, at least 8)"},
    {"--warmup SECONDS", "unmeasured run before the window (default 1, at most 600)"},
    {"--duration SECONDS", "length of the measured window (default 5, more than 0, at most 3600)"},
    {"--max-tasks N",
     "end the window once N RUNs were sent in it and answered (default 0: no cap)"},
    {"--client-endpoint URL", "the node's client endpoint (default tcp://[::1]:51500)"},
    {"--worker-endpoint URL",
     "the node's worker endpoint (default tcp://[::1]:51510); URLs: tcp://HOST:PORT, "
     "tcp://[V6ADDR]:PORT, tls://HOST:PORT or socket:///PATH"},
    {"--tls-ca FILE",
     "tls:// endpoints: the CAs (PEM) the node's certificate must chain to (default: the "
     "system's); it must also name the endpoint's host"},
    {"--tls-cert FILE",
     "tls:// endpoints: a client certificate (PEM) for a node with tls-client-ca; needs --tls-key"},
    {"--tls-key FILE", "the client certificate's private key (PEM, unencrypted)"},
    {"--direct",
     "no node: rcbench's workers listen themselves (127.0.0.1 on ephemeral ports, or Unix sockets "
     "in /tmp, as the transport of --client-endpoint) and client i talks to worker i % W: the "
     "baseline without the hop"},
    {"--detach",
     "detached RUNs (no RESULT comes back): a RUN counts as done when a worker has it, and "
     "latency is RUN sent -> worker has it (with a node's --journal, the write is in it); not "
     "with --direct"},
    {"--broker-pid PID",
     "report the node's CPU seconds (utime+stime over the window, from /proc/PID/stat), CPU per "
     "1000 tasks, and its RSS (VmRSS)"},
    {"--threads N", "I/O threads of rcbench, one io_context each (default 1, at most 16)"},
    {"--json",
     "print the summary as one JSON line on stdout: mode, the shape, seconds, tasks, tasks_per_s, "
     "p50_us, p90_us, p99_us, max_us, results (by rc), errors, broker_cpu_s, "
     "broker_cpu_ms_per_1000, broker_rss_kib, bench_cpu_s"},
};

constexpr option_line idle_options[] = {
    {"--idle-clients N", "open N client connections that send nothing"},
    {"--idle-workers M", "open M workers that REGISTER capacity 1 and stay idle"},
    {"--hold SECONDS",
     "hold them this long (default 0, at most 3600), reporting the node's RSS before and after, "
     "RSS per connection and the node's CPU meanwhile (needs --broker-pid)"},
};

constexpr option_line other_options[] = {
    {"-h, --help", "print this text and exit"},
    {"--version", "print the version and exit"},
};

constexpr option_line exit_statuses[] = {
    {"0", "success"},
    {"1", "the run failed: no task completed, the node closed idle connections, a TLS file or "
          "/proc/PID could not be read"},
    {"64", "usage error: a bad option or value, an endpoint URL that does not parse"},
    {"69", "a connection could not be made (no node there, TLS refused)"},
};

template <std::size_t N>
std::string option_table(const option_line (&lines)[N], std::size_t column = 25) {
  std::string out;
  for (auto& line : lines)
    out += rcbroker::cli::option_help(line.flag, line.description, column);
  return out;
}

std::string value_error(const std::string& flag, const std::string& text, const std::string& what) {
  return flag + " " + (text.empty() ? "needs a value" : "'" + text + "' is not " + what);
}

bool parse_uint(const std::string& text, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  errno = 0;
  char* end = nullptr;
  auto v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

bool parse_seconds(const std::string& text, double lo, double hi, bool lo_open, double& out) {
  if (text.empty())
    return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v) || v < lo || v > hi || (lo_open && v == lo))
    return false;
  out = v;
  return true;
}

} // namespace

std::string help_text() {
  using rcbroker::cli::wrap;
  return "Usage: rcbench [OPTIONS]\n\n" +
         wrap("Load generator for an rcbroker node, with a direct baseline. Options take their "
              "value as --opt VALUE or --opt=VALUE.",
              0) +
         "\n" + wrap(load_intro, 0) + "\n" + option_table(load_options) +
         "\nIdle mode (memory): any of these selects it instead of a load.\n\n" +
         option_table(idle_options) + "\n" + option_table(other_options) + "\n" +
         wrap("Latency is per RUN->RESULT, measured at the client, in microseconds.", 0) +
         "\nExit status:\n" + option_table(exit_statuses, 6);
}

parse_result parse_options(const std::vector<std::string>& args) {
  parse_result r;
  auto& o = r.value;
  using setter = std::function<std::string(const std::string&, const std::string&)>;
  auto count = [](auto& field, std::uint64_t lo, std::uint64_t hi) {
    return [&field, lo, hi](const std::string& flag, const std::string& text) -> std::string {
      std::uint64_t v = 0;
      if (!parse_uint(text, lo, hi, v))
        return value_error(flag, text,
                           "a whole number in " + std::to_string(lo) + ".." + std::to_string(hi));
      field = static_cast<std::remove_reference_t<decltype(field)>>(v);
      return {};
    };
  };
  auto seconds = [](double& field, double hi, bool lo_open) {
    return [&field, hi, lo_open](const std::string& flag, const std::string& text) -> std::string {
      if (!parse_seconds(text, 0, hi, lo_open, field))
        return value_error(flag, text,
                           std::string{"a number of seconds in "} + (lo_open ? "(0" : "[0") + ".." +
                               std::to_string(static_cast<int>(hi)) + "]");
      return {};
    };
  };
  auto text = [](std::string& field) {
    return [&field](const std::string& flag, const std::string& value) -> std::string {
      if (value.empty())
        return flag + " needs a value";
      field = value;
      return {};
    };
  };
  std::uint64_t pid = 0;
  const std::map<std::string, setter> valued{
      {"--clients", count(o.clients, 1, 65535)},
      {"--depth", count(o.depth, 1, 4096)},
      {"--workers", count(o.workers, 1, 4096)},
      {"--capacity", count(o.capacity, 1, 1000000)},
      {"--delay-ms", count(o.delay_ms, 0, 60000)},
      {"--payload", count(o.payload, 8, 4u * 1024u * 1024u)},
      {"--warmup", seconds(o.warmup_s, 600, false)},
      {"--duration", seconds(o.duration_s, 3600, true)},
      {"--max-tasks", count(o.max_tasks, 0, 1'000'000'000'000ULL)},
      {"--client-endpoint", text(o.client_endpoint)},
      {"--worker-endpoint", text(o.worker_endpoint)},
      {"--tls-ca", text(o.tls_ca)},
      {"--tls-cert", text(o.tls_cert)},
      {"--tls-key", text(o.tls_key)},
      {"--broker-pid", count(pid, 1, 4194304)},
      {"--threads", count(o.threads, 1, 16)},
      {"--idle-clients", count(o.idle_clients, 0, 100000)},
      {"--idle-workers", count(o.idle_workers, 0, 100000)},
      {"--hold", seconds(o.hold_s, 3600, false)},
  };
  rcbroker::cli::argument_reader reader{args};
  while (auto a = reader.next()) {
    const auto& name = a->name;
    bool* flag = name == "--help" || name == "-h" ? &o.help
                 : name == "--version"            ? &o.version
                 : name == "--direct"             ? &o.direct
                 : name == "--detach"             ? &o.detach
                 : name == "--json"               ? &o.json
                                                  : nullptr;
    if (flag != nullptr) {
      r.error = rcbroker::cli::no_value_expected(*a);
      if (!r.error.empty())
        return r;
      *flag = true;
      continue;
    }
    auto it = a->positional ? valued.end() : valued.find(name);
    if (it == valued.end()) {
      r.error =
          a->positional ? "unexpected argument '" + name + "'" : rcbroker::cli::unknown_option(*a);
      return r;
    }
    auto value = reader.value_of(*a);
    if (!value) {
      r.error = rcbroker::cli::needs_value(*a);
      return r;
    }
    if (auto err = it->second(name, *value); !err.empty()) {
      r.error = err;
      return r;
    }
  }
  o.broker_pid = static_cast<int>(pid);
  if (o.idle_mode() && o.direct)
    r.error = "--direct is a load mode; it cannot be combined with --idle-clients, --idle-workers "
              "or --hold";
  else if (o.idle_mode() && o.broker_pid == 0)
    r.error = "idle mode reports the node's memory and needs --broker-pid";
  else if (o.tls_cert.empty() != o.tls_key.empty())
    r.error = "--tls-cert and --tls-key go together";
  else if (o.direct && o.detach)
    r.error = "--detach needs a node: --direct workers answer their clients themselves";
  else if (o.direct && o.client_endpoint.rfind("tls://", 0) == 0)
    r.error = "--direct has no TLS: its workers listen on tcp:// or socket://";
  return r;
}

} // namespace rcbench
