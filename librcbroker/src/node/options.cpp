#include "rcbroker/node/options.hpp"

#include "rcbroker/cli/command_line.hpp"
#include "rcbroker/node/config_check.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

namespace rcbroker::node {

namespace {

using std::chrono::milliseconds;

// -- reading values from text (command line) and from CAF config values (file) -----------------

bool parse_size(std::string_view text, std::size_t& out) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data())
    return false;
  std::string_view unit{end, static_cast<std::size_t>(text.data() + text.size() - end)};
  std::size_t scale = 1;
  if (unit == "KiB")
    scale = 1024;
  else if (unit == "MiB")
    scale = 1024 * 1024;
  else if (unit == "GiB")
    scale = 1024ull * 1024 * 1024;
  else if (!unit.empty())
    return false;
  // 17179869185GiB must be an error, not whatever the product wraps to.
  if (value > std::numeric_limits<std::size_t>::max() / scale)
    return false;
  out = value * scale;
  return true;
}

bool parse_duration(std::string_view text, milliseconds& out) {
  double value = 0;
  std::string str{text};
  std::istringstream in{str};
  if (!(in >> value) || value < 0)
    return false;
  std::string unit;
  in >> unit;
  double scale_ms;
  if (unit == "ms")
    scale_ms = 1;
  else if (unit == "s")
    scale_ms = 1000;
  else if (unit == "min")
    scale_ms = 60000;
  else if (unit == "h")
    scale_ms = 3600000;
  else if (unit == "us")
    scale_ms = 0.001;
  else
    return false;
  // A century is more than any timeout needs, and far below what the count can hold.
  auto ms = value * scale_ms;
  if (!(ms <= 100.0 * 365 * 24 * 3600 * 1000))
    return false;
  out = milliseconds{static_cast<long long>(ms)};
  return true;
}

bool parse_bool(std::string_view text, bool& out) {
  if (text == "true" || text == "yes" || text == "1" || text.empty()) {
    out = true;
    return true;
  }
  if (text == "false" || text == "no" || text == "0") {
    out = false;
    return true;
  }
  return false;
}

// One `[broker]` setting: how to read it from a flag's text and from the config file.
struct option_spec {
  const char* key; // file key and long flag name
  const char* arg; // placeholder in --help, empty for a switch
  const char* help;
  const char* expects; // what a valid value looks like, for error messages
  std::function<bool(std::string_view, settings&)> from_text;
  std::function<bool(const caf::config_value&, settings&)> from_value;
};

template <class Member>
option_spec size_option(const char* key, const char* arg, const char* help, Member member) {
  return {key,
          arg,
          help,
          "a non-negative integer (bytes may take KiB, MiB or GiB)",
          [member](std::string_view t, settings& s) { return parse_size(t, s.*member); },
          [member](const caf::config_value& v, settings& s) {
            if (auto i = caf::get_if<caf::config_value::integer>(&v); i && *i >= 0) {
              s.*member = static_cast<std::size_t>(*i);
              return true;
            }
            if (auto str = caf::get_if<std::string>(&v))
              return parse_size(*str, s.*member);
            return false;
          }};
}

template <class Member>
option_spec duration_option(const char* key, const char* help, Member member) {
  return {key,
          "DURATION",
          help,
          "a duration such as 500ms, 5s or 2min",
          [member](std::string_view t, settings& s) { return parse_duration(t, s.*member); },
          [member](const caf::config_value& v, settings& s) {
            if (auto d = caf::get_if<caf::timespan>(&v); d && d->count() >= 0) {
              s.*member = std::chrono::duration_cast<milliseconds>(*d);
              return true;
            }
            if (auto str = caf::get_if<std::string>(&v))
              return parse_duration(*str, s.*member);
            return false;
          }};
}

bool string_list_from_value(const caf::config_value& v, std::vector<std::string>& out) {
  auto list = caf::get_if<caf::config_value::list>(&v);
  if (!list)
    return false;
  std::vector<std::string> result;
  for (auto& item : *list) {
    auto str = caf::get_if<std::string>(&item);
    if (!str)
      return false;
    result.push_back(*str);
  }
  out = std::move(result);
  return true;
}

option_spec string_option(const char* key, const char* arg, const char* help, const char* expects,
                          std::string settings::*member) {
  return {key,
          arg,
          help,
          expects,
          [member](std::string_view t, settings& s) {
            s.*member = std::string{t};
            return true;
          },
          [member](const caf::config_value& v, settings& s) {
            auto str = caf::get_if<std::string>(&v);
            if (str)
              s.*member = *str;
            return str != nullptr;
          }};
}

// "a=b,c=d" as {"a=b", "c=d"}; empty items are dropped.
std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    if (!item.empty())
      items.emplace_back(item);
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
  }
  return items;
}

const std::vector<option_spec>& option_specs() {
  static const std::vector<option_spec> specs{
      {"client-endpoints", "",
       "client endpoint URLs (in the file; use --serve on the command line)",
       "a list of URL strings, e.g. [\"tcp://127.0.0.1:51500\"]", nullptr,
       [](const caf::config_value& v, settings& s) {
         return string_list_from_value(v, s.client_endpoints);
       }},
      {"worker-endpoints", "",
       "worker endpoint URLs (in the file; use --listen on the command line)",
       "a list of URL strings, e.g. [\"tcp://127.0.0.1:51510\"]", nullptr,
       [](const caf::config_value& v, settings& s) {
         return string_list_from_value(v, s.worker_endpoints);
       }},
      size_option("max-frame-size", "BYTES",
                  "largest packet accepted; a longer frame closes its connection (default 16MiB)",
                  &settings::max_frame_size),
      size_option("max-write-queue", "BYTES",
                  "bytes queued for a peer that does not read before it is dropped (default 64MiB)",
                  &settings::max_write_queue),
      duration_option("cancel-grace",
                      "time a worker has to answer a CANCEL before the broker answers the client "
                      "with EXCEPTION 'Cancelled' (default 5s)",
                      &settings::cancel_grace),
      size_option("queue-limit", "N",
                  "RUNs that may wait for a free slot, fair across clients (default 0: answer "
                  "NO_CAPACITY at once, as the original broker)",
                  &settings::queue_limit),
      size_option("retries-on-worker-loss", "N",
                  "times a task whose worker went away runs again, for a RUN without 'retries' "
                  "(default 0: WORKER_WENT_AWAY, as the original broker)",
                  &settings::retries_on_worker_loss),
      {"cancel-orphans", "",
       "CANCEL at the worker the tasks of a client that went away (default off)", "true or false",
       [](std::string_view t, settings& s) { return parse_bool(t, s.cancel_orphans); },
       [](const caf::config_value& v, settings& s) {
         auto b = caf::get_if<bool>(&v);
         if (b)
           s.cancel_orphans = *b;
         return b != nullptr;
       }},
      {"log-level", "LEVEL",
       "trace, debug, info, warn, error, critical or off, in any case (WARNING as the original "
       "spells it; default info); COMPONENT=LEVEL sets one component, as --log-levels",
       "one of trace, debug, info, warn, error, critical, off",
       [](std::string_view t, settings& s) {
         set_log_level(t, s);
         return true;
       },
       [](const caf::config_value& v, settings& s) {
         auto str = caf::get_if<std::string>(&v);
         if (str)
           set_log_level(*str, s);
         return str != nullptr;
       }},
      duration_option("status-interval",
                      "period of the status line in the log; 0s turns it off (default 30s)",
                      &settings::status_interval),
      size_option("io-threads", "N",
                  "threads running sockets and actors; must be 1 (more cores: one node per core, "
                  "as a cluster)",
                  &settings::io_threads),
      size_option("cluster-port", "PORT",
                  "listen for other cluster members on PORT (default 0: none; the node may still "
                  "dial members)",
                  &settings::cluster_port),
      {"cluster-bind", "ADDR", "address the cluster port binds to (default 127.0.0.1)",
       "an IP address string",
       [](std::string_view t, settings& s) {
         s.cluster_bind = std::string{t};
         return true;
       },
       [](const caf::config_value& v, settings& s) {
         auto str = caf::get_if<std::string>(&v);
         if (str)
           s.cluster_bind = *str;
         return str != nullptr;
       }},
      {"cluster-peers", "",
       "other nodes' cluster ports (in the file; use --peer on the command line)",
       "a list of \"HOST:PORT\" strings", nullptr,
       [](const caf::config_value& v, settings& s) {
         return string_list_from_value(v, s.cluster_peers);
       }},
      string_option("cluster-advertise", "HOST:PORT",
                    "address other members dial to reach this node (default: cluster-bind and "
                    "cluster-port; the host name when cluster-bind is 0.0.0.0 or ::)",
                    "a \"HOST:PORT\" string", &settings::cluster_advertise),
      string_option("cluster-tls-cert", "FILE",
                    "PEM certificate of this node for cluster links (with cluster-tls-key and "
                    "cluster-tls-ca: links only with nodes the CA signed, both ways)",
                    "a file path string", &settings::cluster_tls_cert),
      string_option("cluster-tls-key", "FILE", "PEM private key of --cluster-tls-cert",
                    "a file path string", &settings::cluster_tls_key),
      string_option("cluster-tls-ca", "FILE",
                    "PEM CA every member's cluster certificate must be signed by",
                    "a file path string", &settings::cluster_tls_ca),
      {"cluster-insecure", "",
       "allow a cluster port other machines can reach without cluster TLS (default off: such a "
       "node refuses to start)",
       "true or false",
       [](std::string_view t, settings& s) { return parse_bool(t, s.cluster_insecure); },
       [](const caf::config_value& v, settings& s) {
         auto b = caf::get_if<bool>(&v);
         if (b)
           s.cluster_insecure = *b;
         return b != nullptr;
       }},
      size_option("cluster-max-connections", "N",
                  "cluster connections open at once, either way; one more is closed at once "
                  "(default 256; 0: no limit)",
                  &settings::cluster_max_connections),
      {"node-name", "NAME", "this node's name in logs and status (default: none)", "a string",
       [](std::string_view t, settings& s) {
         s.node_name = std::string{t};
         return true;
       },
       [](const caf::config_value& v, settings& s) {
         auto str = caf::get_if<std::string>(&v);
         if (str)
           s.node_name = *str;
         return str != nullptr;
       }},
      string_option("admin", "HOST:PORT",
                    "HTTP admin endpoint: GET /metrics, /healthz, /status; PORT alone is "
                    "127.0.0.1:PORT (default empty: off)",
                    "an address string such as \"127.0.0.1:51580\", or \"\" for off",
                    &settings::admin),
      string_option("log-format", "FORMAT",
                    "log lines as text or json, one JSON object a line (default text)",
                    "\"text\" or \"json\"", &settings::log_format),
      string_option("log-file", "PATH", "append the log to PATH (default empty: stderr)",
                    "a file path string", &settings::log_file),
      {"log-levels", "LIST",
       "levels per component over --log-level, e.g. switchboard=debug,connection=warn "
       "(components: node, broker, switchboard, connection, admin)",
       "a list of \"COMPONENT=LEVEL\" strings, e.g. [\"switchboard=debug\"]",
       [](std::string_view t, settings& s) {
         s.log_levels = canonical_log_levels(split_list(t));
         return true;
       },
       [](const caf::config_value& v, settings& s) {
         if (auto str = caf::get_if<std::string>(&v)) {
           s.log_levels = canonical_log_levels(split_list(*str));
           return true;
         }
         if (!string_list_from_value(v, s.log_levels))
           return false;
         s.log_levels = canonical_log_levels(std::move(s.log_levels));
         return true;
       }},
      size_option("max-client-connections", "N",
                  "client connections open at once; one more is closed as soon as it is accepted "
                  "(default 10000; 0: no limit)",
                  &settings::max_client_connections),
      size_option("max-worker-connections", "N",
                  "worker connections open at once; one more is closed as soon as it is accepted "
                  "(default 1000; 0: no limit)",
                  &settings::max_worker_connections),
      size_option("max-runs-per-client", "N",
                  "open tasks per client connection; a RUN over it gets NO_CAPACITY (default "
                  "10000; 0: no limit)",
                  &settings::max_runs_per_client),
      size_option("max-runs-per-address", "N",
                  "open tasks of all client connections from one host (Unix sockets: one host); "
                  "a RUN over it gets NO_CAPACITY (default 10000; 0: no limit)",
                  &settings::max_runs_per_address),
      size_option("max-worker-capacity", "N",
                  "slots one worker connection may register in all; a REGISTER over it gets "
                  "BAD_PACKET (default 4096; 0: no limit)",
                  &settings::max_worker_capacity),
      duration_option("max-task-duration",
                      "answer a task's client with EXCEPTION when its worker has not answered "
                      "within this; a RUN's timeout field may ask for less (default 0s: none)",
                      &settings::max_task_duration),
      duration_option("idle-timeout",
                      "close a connection from which no byte was read for this long (default 0s: "
                      "never)",
                      &settings::idle_timeout),
      string_option("tls-cert", "FILE",
                    "PEM certificate chain for tls:// endpoints, the node's own first (default "
                    "empty)",
                    "a file path string", &settings::tls_cert),
      string_option("tls-key", "FILE", "PEM private key of --tls-cert, not encrypted",
                    "a file path string", &settings::tls_key),
      string_option("tls-client-ca", "FILE",
                    "PEM CAs: a TLS peer must present a certificate they signed (default empty: "
                    "none asked for)",
                    "a file path string", &settings::tls_client_ca),
      string_option("unix-socket-mode", "MODE",
                    "permissions of the Unix socket files, in octal (default 0660)",
                    "an octal mode string such as \"0660\"", &settings::unix_socket_mode),
      string_option("worker-token", "TOKEN",
                    "a worker must send TOKEN in REGISTER's token field to get slots (default "
                    "empty: none needed; also from the environment variable "
                    "RCBROKER_WORKER_TOKEN)",
                    "a string", &settings::worker_token),
      duration_option("first-packet-timeout",
                      "close a connection that has not sent one whole packet within this long of "
                      "connecting (default 10s; 0s: never)",
                      &settings::first_packet_timeout),
      duration_option("drain-timeout",
                      "on SIGTERM or SIGINT, first drain for up to this long: refuse new RUNs "
                      "(NO_CAPACITY) and let open tasks finish (default 0s: stop at once; "
                      "SIGUSR2 always drains, 30s when this is 0s)",
                      &settings::drain_timeout),
      string_option("journal", "PATH",
                    "SQLite file that keeps detached RUNs and RUNs waiting in the queue across "
                    "a restart or a crash; they run again at the next start (default: none)",
                    "a file path", &settings::journal),
      string_option("journal-sync", "WHEN",
                    "when a journal write reaches the disk: always (fsync each batch), batch "
                    "(WAL, fsync at checkpoints; default) or off",
                    "always, batch or off", &settings::journal_sync),
      size_option("journal-max-runs", "N",
                  "most runs the journal holds; a detached or queued RUN beyond gets NO_CAPACITY "
                  "(default 100000)",
                  &settings::journal_max_runs),
  };
  return specs;
}

const option_spec* find_spec(std::string_view key) {
  for (auto& spec : option_specs())
    if (key == spec.key)
      return &spec;
  return nullptr;
}

} // namespace

command_line parse_command_line(const std::vector<std::string>& args) {
  command_line cl;
  cli::argument_reader reader{args};
  while (auto a = reader.next()) {
    const std::string& name = a->name;
    if (name == "-h" || name == "--help" || name == "-?" || name == "--version" ||
        name == "--check-config") {
      if (cl.error = cli::no_value_expected(*a); !cl.error.empty())
        return cl;
      (name == "--version"        ? cl.version
       : name == "--check-config" ? cl.check_config
                                  : cl.help) = true;
      continue;
    }
    if (a->positional || name.rfind("--", 0) != 0) {
      cl.error = a->positional ? "unexpected argument '" + name + "'" : cli::unknown_option(*a);
      return cl;
    }
    auto key = name.substr(2);
    if (key.find('.') != std::string::npos) { // CAF's own, e.g. --scheduler.policy=sharing
      cl.caf_args.push_back(a->inline_value ? name + "=" + *a->inline_value : name);
      continue;
    }
    bool is_switch = key == "cancel-orphans" || key == "cluster-insecure";
    bool known = key == "serve" || key == "listen" || key == "config" || key == "peer" ||
                 (find_spec(key) && find_spec(key)->from_text);
    if (!known) {
      cl.error = cli::unknown_option(*a);
      return cl;
    }
    std::string value;
    if (!is_switch || a->inline_value) {
      auto v = reader.value_of(*a);
      if (!v) {
        cl.error = cli::needs_value(*a);
        return cl;
      }
      value = std::move(*v);
    }
    if (key == "serve")
      cl.serve.push_back(value);
    else if (key == "listen")
      cl.listen.push_back(value);
    else if (key == "peer")
      cl.peers.push_back(value);
    else if (key == "config")
      cl.config_file = value;
    else
      cl.overrides.emplace_back(key, value);
  }
  return cl;
}

std::string help_text(const std::string& program) {
  using cli::wrap;
  constexpr std::size_t column = 27;
  std::ostringstream out;
  out << "Usage: " << program << " [OPTIONS] [--CAF.OPTION=VALUE ...]\n\n"
      << wrap("A task broker speaking the ReasonChip broker wire protocol: clients send RUN "
              "requests, the broker hands each to a worker with free capacity and carries the "
              "RESULT back.",
              0)
      << "\n"
      << wrap("Options (each also a key of the [broker] section of the config file), as --opt "
              "VALUE or --opt=VALUE:",
              0)
      << cli::option_help("--serve URL",
                          "add a client endpoint (repeatable; replaces the file's list)", column)
      << cli::option_help("--listen URL",
                          "add a worker endpoint (repeatable; replaces the file's list)", column)
      << cli::option_help("--peer HOST:PORT",
                          "a cluster member to dial (repeatable; one is enough, it tells of the "
                          "others; replaces the file's cluster-peers)",
                          column)
      << cli::option_help("--config FILE",
                          std::string{"config file to read (default: $RCBROKER_CONFIG, else ./"} +
                              default_config_file + ", else /etc/rcbroker/" + default_config_file +
                              ")",
                          column);
  for (auto& spec : option_specs()) {
    if (!spec.from_text)
      continue;
    std::string flag = std::string{"--"} + spec.key + (*spec.arg ? " " : "") + spec.arg;
    out << cli::option_help(flag, spec.help, column);
  }
  out << cli::option_help("--check-config",
                          "check the config file and flags as a start would, print the effective "
                          "settings (key = value) and exit 0, or 78 with the error",
                          column)
      << cli::option_help("-h, --help", "show this text and exit", column)
      << cli::option_help("--version", "print the version and exit", column) << "\n"
      << wrap("Endpoint URLs: tcp://HOST:PORT, tcp://[IPV6]:PORT (port defaults: clients 51500, "
              "workers 51510), tls://HOST:PORT (TCP with TLS: needs --tls-cert and --tls-key), "
              "socket:///PATH (a Unix-domain socket; a stale file is removed), for clients only "
              "http://HOST:PORT and https://HOST:PORT (the original's HTTP transport, POST "
              "/v1/stream/stream; default port 51502), and when built with gRPC grpc://HOST:PORT "
              "and grpcs://HOST:PORT (defaults: clients 51501, workers 51511). Without --serve "
              "and --listen the node takes the original's endpoints (see --check-config).",
              0)
      << "\n"
      << wrap("CAF's own settings (scheduler, middleman) go in the file or as "
              "--section.key=value.",
              0)
      << "\nExit status:\n"
      << cli::option_help("0",
                          "stopped by SIGTERM, SIGINT or SIGUSR2 (after a drain); "
                          "--check-config found no error",
                          6)
      << cli::option_help("64",
                          "usage error: an unknown option, a missing value, a value that "
                          "does not parse",
                          6)
      << cli::option_help("65",
                          "the journal file is not a journal this node can use: move it "
                          "away or delete it",
                          6)
      << cli::option_help("69", "cannot start: an endpoint or the cluster port cannot be bound", 6)
      << cli::option_help("78",
                          "configuration error: a config file that does not load, settings "
                          "that are not valid together, files they name that cannot be read "
                          "(as --check-config reports it)",
                          6)
      << "\nExample:\n  " << program
      << " --serve tcp://127.0.0.1:51500 --serve socket:///tmp/c.sock \\\n      --listen "
         "tcp://127.0.0.1:51510\n";
  return out.str();
}

std::string load_config_file(const std::string& file, bool required, settings& s) {
  if (!std::ifstream{file}) {
    if (required)
      return "cannot read config file " + file;
    return {};
  }
  auto parsed = caf::actor_system_config::parse_config_file(file.c_str());
  if (!parsed)
    return "cannot parse config file " + file + ": " + caf::to_string(parsed.error());
  if (auto err = check_config_file(file, *parsed, setting_keys()); !err.empty())
    return err;
  auto section = parsed->find("broker");
  if (section == parsed->end())
    return {};
  auto dict = caf::get_if<caf::config_value::dictionary>(&section->second);
  if (!dict)
    return file + ": [broker] must be a section";
  for (auto& [key, value] : *dict) {
    auto spec = find_spec(key);
    if (!spec)
      return file + ": unknown setting broker." + key + " (see rcbroker --help for the keys)";
    if (!spec->from_value(value, s))
      return config_location(file, {"broker", key}) + ": bad value for broker." + key +
             ": expected " + spec->expects;
  }
  return {};
}

std::vector<std::string> setting_keys() {
  std::vector<std::string> keys;
  for (auto& spec : option_specs())
    keys.emplace_back(spec.key);
  return keys;
}

void apply_environment(settings& s) {
  if (const char* token = std::getenv(worker_token_variable); token != nullptr && *token != '\0')
    s.worker_token = token;
}

std::string apply_command_line(const command_line& cl, settings& s) {
  if (!cl.serve.empty())
    s.client_endpoints = cl.serve;
  if (!cl.listen.empty())
    s.worker_endpoints = cl.listen;
  if (!cl.peers.empty())
    s.cluster_peers = cl.peers;
  for (auto& [key, value] : cl.overrides) {
    auto spec = find_spec(key);
    if (!spec->from_text(value, s))
      return "bad value '" + value + "' for --" + key + ": expected " + spec->expects;
  }
  return {};
}

} // namespace rcbroker::node
