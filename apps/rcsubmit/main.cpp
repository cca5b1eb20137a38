// rcsubmit: submits one task to a broker and prints its result.
//
//   build/apps/rcsubmit echo --variables '{"x": 1}'
//   build/apps/rcsubmit --endpoint socket:///tmp/reasonchip-broker-client.sock --pipeline echo
//   jq -n '{x: 1}' | RCBROKER_URL=tcp://10.0.0.5:51500 build/apps/rcsubmit echo --variables -
//
// The result JSON goes to stdout; a failure's rc, error and stacktrace go to stderr, and the exit
// status names the outcome (`rcsubmit --help` has the table).

#include "rcbroker/cli/command_line.hpp"
#include "rcbroker/client/client.hpp"
#include "rcbroker/client/random_cookie.hpp"
#include "rcbroker/transport/endpoint.hpp"
#include "status_client.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <simdjson.h>
#include <sstream>
#include <string>
#include <vector>

namespace {

using rcbroker::protocol::result_code;

constexpr const char* default_endpoint = "tcp://[::1]:51500";
// The node's client endpoint when --endpoint is not given (as NATS_URL, GEARMAN_SERVER).
constexpr const char* endpoint_variable = "RCBROKER_URL";

// Exit statuses beyond the result codes (which map to 0..9 in protocol order).
constexpr int exit_timeout = 10;
constexpr int exit_cannot_connect = 11;
constexpr int exit_usage = rcbroker::cli::exit_code::usage;

constexpr result_code all_codes[] = {
    result_code::ok,
    result_code::bad_packet,
    result_code::unsupported_packet_type,
    result_code::no_capacity,
    result_code::cookie_not_found,
    result_code::cookie_collision,
    result_code::worker_went_away,
    result_code::broker_went_away,
    result_code::processor_exception,
    result_code::exception,
};

int exit_status(result_code rc) {
  return static_cast<int>(rc);
}

std::string help_text() {
  std::string text = R"(Usage: rcsubmit [--pipeline] NAME [--variables JSON|-|@FILE] [--detach]
                [--timeout S] [--priority N] [--retries N] [--progress]
                [--endpoint URL] [--tls-ca FILE]
                [--tls-cert FILE --tls-key FILE]
       rcsubmit --status [--json] [--admin HOST:PORT]

Submits one task (a RUN) to a broker's client endpoint and waits for its RESULT.
On OK the result JSON text is printed on stdout; on failure the rc, error and
stacktrace are printed on stderr.

Options:
  NAME, --pipeline NAME
                    the pipeline (work) to run; required, non-empty (given
                    both ways, the two must agree)
  --variables JSON  the task's variables, a JSON text sent as it is (default:
                    {}); '-' reads them from stdin, '@FILE' from FILE
  --detach          submit and return at once: the broker drops the result
                    (exit status 0 once the RUN is sent)
  --timeout S       give up after S seconds (decimals allowed): the task is
                    cancelled and rcsubmit exits with status 10 (default: wait)
  --priority N      the RUN's priority (an integer, higher first): the order in
                    which waiting tasks get a worker at a node with a queue
  --retries N       run the task again on another worker, up to N times (0 to
                    1000), when its worker goes away; "attempts: K" (workers
                    the task was given to) is then printed on stderr
  --progress        ask for the worker's partial output: each PROGRESS's
                    result is printed on stdout as a line of its own, as it
                    comes, before the result's line (not with --detach)
  --endpoint URL    the broker's client endpoint: tcp://HOST:PORT,
                    tcp://[V6ADDR]:PORT, tls://HOST:PORT or socket:///PATH
                    (default: $RCBROKER_URL, else )";
  text += default_endpoint;
  text += R"()
  --tls-ca FILE     for a tls:// endpoint: the CA certificate(s) (PEM) the
                    node's certificate must chain to (default: the system's
                    CAs); the certificate must also name the endpoint's host
  --tls-cert FILE   for a tls:// endpoint: a client certificate (PEM) for a
                    node that asks for one (its tls-client-ca); needs --tls-key
  --tls-key FILE    the client certificate's private key (PEM, unencrypted)
  --status          print the node's status (workers, capacity, tasks in flight)
                    from its admin endpoint as tables, and exit (status 11 when
                    the endpoint cannot be reached)
  --json            with --status: print the node's status document (its
                    GET /status) as one JSON object instead of tables
  --admin HOST:PORT the node's admin endpoint, for --status
                    (default: 127.0.0.1:51580)
  --help            print this text and exit
  --version         print the version and exit

Options take their value as --opt VALUE or --opt=VALUE; after --, every
argument is the pipeline.

Exit status (rcsubmit's own: the RESULT's rc, in protocol order, then 10, 11;
64 is the usage error of every rcbroker tool):
)";
  for (auto rc : all_codes) {
    text += "  " + std::to_string(exit_status(rc));
    text += exit_status(rc) < 10 ? "   " : "  ";
    text += rcbroker::protocol::to_string(rc);
    text += rc == result_code::ok ? " (the result is on stdout)\n" : "\n";
  }
  text += "  " + std::to_string(exit_timeout) + "  timeout (--timeout passed)\n";
  text += "  " + std::to_string(exit_cannot_connect) + "  cannot connect to the broker\n";
  text += "  " + std::to_string(exit_usage) + "  usage error (bad option or value)\n";
  text += R"(
Environment:
  RCBROKER_URL      the client endpoint when --endpoint is not given
)";
  return text;
}

struct command_line {
  std::string pipeline;
  std::string variables = "{}";
  bool detach = false;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<std::int64_t> priority;
  std::optional<std::int64_t> retries;
  bool progress = false;
  std::optional<std::string> endpoint; // --endpoint, else $RCBROKER_URL, else the default
  rcbroker::client::tls_options tls;
  bool help = false;
  bool version = false;
  bool status = false;                   // --status: print the node's status instead
  bool json = false;                     // --json: the status as JSON
  std::string admin = "127.0.0.1:51580"; // the admin endpoint for --status
};

int usage_error(const std::string& message) {
  return rcbroker::cli::usage_error("rcsubmit", message, std::cerr);
}

// Reads all of `in`; false when reading failed.
bool read_all(std::istream& in, std::string& text) {
  std::ostringstream all;
  all << in.rdbuf();
  text = all.str();
  return !in.bad();
}

// Reads all of `in` as the variables, without the trailing newline a shell or an editor adds
// (JSON's whitespace means nothing, and the echoed result would get two).
bool read_variables(std::istream& in, std::string& variables) {
  if (!read_all(in, variables))
    return false;
  auto end = variables.find_last_not_of(" \t\r\n");
  variables.resize(end == std::string::npos ? 0 : end + 1);
  return true;
}

// Replaces `-` with stdin's text and `@FILE` with FILE's; returns an error text, or "".
std::string load_variables(std::string& variables) {
  if (variables == "-") {
    if (!read_variables(std::cin, variables))
      return "--variables -: cannot read stdin";
    return {};
  }
  if (variables.empty() || variables.front() != '@')
    return {};
  auto path = variables.substr(1);
  std::ifstream file{path, std::ios::binary};
  if (!file || std::filesystem::is_directory(path))
    return "--variables @" + path + ": cannot read " + path + ": " +
           (std::filesystem::exists(path) ? "not a readable file" : "no such file");
  if (!read_variables(file, variables))
    return "--variables @" + path + ": cannot read " + path;
  return {};
}

// Reads a whole decimal number (a sign allowed); nullopt when `text` is not one or out of range.
std::optional<std::int64_t> integer(const std::string& text) {
  if (text.empty() || text.find_first_not_of("+-0123456789") != std::string::npos)
    return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0')
    return std::nullopt;
  return n;
}

// Sets the pipeline from --pipeline or the positional NAME; returns an error text, or "".
std::string set_pipeline(command_line& cl, const std::string& name, bool positional) {
  if (!cl.pipeline.empty() && cl.pipeline != name)
    return positional ? "the pipeline is given twice: " + cl.pipeline + " and " + name
                      : "--pipeline " + name + " differs from the pipeline " + cl.pipeline;
  cl.pipeline = name;
  return {};
}

// Parses the arguments; returns an error text, or "" when they are fine.
std::string parse(const std::vector<std::string>& args, command_line& cl) {
  rcbroker::cli::argument_reader reader{args};
  while (auto a = reader.next()) {
    const std::string& name = a->name;
    if (a->positional) {
      if (name.empty())
        return "the pipeline name is empty";
      if (auto error = set_pipeline(cl, name, true); !error.empty())
        return error;
      continue;
    }
    bool* flag = name == "--help" || name == "-h" ? &cl.help
                 : name == "--version"            ? &cl.version
                 : name == "--status"             ? &cl.status
                 : name == "--json"               ? &cl.json
                 : name == "--detach"             ? &cl.detach
                 : name == "--progress"           ? &cl.progress
                                                  : nullptr;
    if (flag != nullptr) {
      if (auto error = rcbroker::cli::no_value_expected(*a); !error.empty())
        return error;
      *flag = true;
      continue;
    }
    static const char* const valued[] = {"--admin",    "--priority", "--retries",  "--tls-ca",
                                         "--tls-cert", "--tls-key",  "--pipeline", "--variables",
                                         "--endpoint", "--timeout"};
    if (std::find(std::begin(valued), std::end(valued), name) == std::end(valued))
      return rcbroker::cli::unknown_option(*a);
    auto v = reader.value_of(*a);
    if (!v)
      return rcbroker::cli::needs_value(*a);
    if (name == "--admin") {
      cl.admin = *v;
    } else if (name == "--priority" || name == "--retries") {
      auto n = integer(*v);
      if (name == "--priority") {
        if (!n)
          return "--priority needs an integer, not '" + *v + "'";
        cl.priority = n;
      } else {
        if (!n || *n < 0 || *n > 1000)
          return "--retries needs a whole number from 0 to 1000, not '" + *v + "'";
        cl.retries = n;
      }
    } else if (name == "--tls-ca" || name == "--tls-cert" || name == "--tls-key") {
      if (!std::filesystem::is_regular_file(*v))
        return name + ": no such file " + *v;
      (name == "--tls-ca"     ? cl.tls.ca_file
       : name == "--tls-cert" ? cl.tls.cert_file
                              : cl.tls.key_file) = *v;
    } else if (name == "--pipeline") {
      if (v->empty())
        return "--pipeline needs a non-empty name";
      if (auto error = set_pipeline(cl, *v, false); !error.empty())
        return error;
    } else if (name == "--variables") {
      cl.variables = *v;
    } else if (name == "--endpoint") {
      cl.endpoint = *v;
    } else {
      char* end = nullptr;
      double seconds = std::strtod(v->c_str(), &end);
      if (v->empty() || *end != '\0' || !std::isfinite(seconds) || seconds <= 0)
        return "--timeout needs a positive number of seconds, not '" + *v + "'";
      cl.timeout = std::chrono::milliseconds{static_cast<long long>(std::ceil(seconds * 1000))};
    }
  }
  if (cl.json && !cl.status)
    return "--json goes with --status";
  if (cl.help || cl.version || cl.status)
    return {};
  if (cl.pipeline.empty())
    return "the pipeline is required: rcsubmit NAME or --pipeline NAME";
  if (cl.tls.cert_file.empty() != cl.tls.key_file.empty())
    return "--tls-cert and --tls-key go together";
  if (cl.progress && cl.detach)
    return "--progress does not go with --detach: a detached run hears nothing back";
  std::string source = "--endpoint";
  if (!cl.endpoint) {
    const char* from_environment = std::getenv(endpoint_variable);
    bool set = from_environment != nullptr && *from_environment != '\0';
    cl.endpoint = set ? from_environment : default_endpoint;
    if (set)
      source = endpoint_variable;
  }
  auto where =
      rcbroker::transport::parse_endpoint(*cl.endpoint, rcbroker::transport::default_client_port);
  if (!where.value)
    return source + ": " + where.error;
  if (!where.value->is_framed())
    return source + ": rcsubmit connects over tcp://, tls:// or socket://, not " +
           std::string{where.value->scheme()} + "://";
  if (auto error = load_variables(cl.variables); !error.empty())
    return error;
  simdjson::dom::parser parser;
  if (auto error = parser.parse(simdjson::padded_string{cl.variables}).error())
    return "the variables are not valid JSON: " + std::string{simdjson::error_message(error)};
  return {};
}

void print_failure(const rcbroker::client::task_result& r) {
  std::cerr << "rc: " << rcbroker::protocol::to_string(r.rc) << "\n";
  if (r.error)
    std::cerr << "error: " << *r.error << "\n";
  if (!r.stacktrace.empty()) {
    std::cerr << "stacktrace:\n";
    for (auto& line : r.stacktrace)
      std::cerr << "  " << line << "\n";
  }
}

} // namespace

int main(int argc, char** argv) {
  command_line cl;
  if (auto error = parse({argv + 1, argv + argc}, cl); !error.empty())
    return usage_error(error);
  if (cl.help) {
    std::cout << help_text();
    return 0;
  }
  if (cl.version) {
    std::cout << rcbroker::cli::version_text("rcsubmit");
    return 0;
  }
  if (cl.status) {
    auto format = cl.json ? rcsubmit::status_format::json : rcsubmit::status_format::table;
    return rcsubmit::print_status(cl.admin, std::cout, std::cerr, format) == 0
               ? 0
               : exit_cannot_connect;
  }

  std::optional<rcbroker::client::client> connection;
  try {
    rcbroker::client::client_options options;
    options.tls = cl.tls;
    if (cl.timeout)
      options.connect_timeout = std::min(options.connect_timeout, *cl.timeout);
    connection.emplace(*cl.endpoint, options);
  } catch (const rcbroker::client::connect_error& e) {
    std::cerr << "rcsubmit: " << e.what() << "\n";
    return exit_cannot_connect;
  }

  rcbroker::client::run_options options;
  options.detach = cl.detach;
  options.cookie = rcbroker::client::random_cookie(); // to cancel the run on timeout
  options.priority = cl.priority;
  options.retries = cl.retries;
  if (cl.progress) {
    // On the client's I/O thread, each before the result is handed over: the lines keep order.
    options.on_progress = [](const rcbroker::protocol::cookie&, std::string result_json) {
      std::cout << result_json << std::endl;
    };
  }
  auto pending = connection->run(cl.pipeline, cl.variables, options);
  if (cl.timeout && pending.wait_for(*cl.timeout) != std::future_status::ready) {
    connection->cancel(*options.cookie);
    std::cerr << "rcsubmit: no result within the timeout; the task was cancelled\n";
    return exit_timeout;
  }
  auto result = pending.get();
  if (cl.detach) {
    std::cerr << "rcsubmit: detached run " << result.cookie.to_string() << " submitted\n";
    return result.ok() ? 0 : exit_status(result.rc);
  }
  if (result.attempts)
    std::cerr << "attempts: " << *result.attempts << "\n";
  if (auto refused = connection->failure()) {
    // The connection never carried the run: as a failed connect (TLS 1.3 refuses late).
    std::cerr << "rcsubmit: cannot connect to " << *cl.endpoint << ": " << refused->message << "\n";
    return exit_cannot_connect;
  }
  if (!result.ok()) {
    print_failure(result);
    return exit_status(result.rc);
  }
  std::cout << result.value() << "\n";
  return 0;
}
