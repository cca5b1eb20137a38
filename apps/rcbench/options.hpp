#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rcbench {

/// Everything rcbench was asked to do, as parsed from its command line.
struct options {
  unsigned clients = 1;        ///< K: client connections of the load
  unsigned depth = 1;          ///< D: RUNs each client keeps in flight
  unsigned workers = 1;        ///< W: worker connections rcbench runs itself
  unsigned capacity = 1;       ///< C: capacity each worker registers
  unsigned delay_ms = 0;       ///< time a worker takes before it answers a RUN
  std::size_t payload = 64;    ///< S: bytes of the `variables` JSON text of each RUN
  double warmup_s = 1.0;       ///< seconds run before the measured window
  double duration_s = 5.0;     ///< seconds of the measured window
  std::uint64_t max_tasks = 0; ///< RUNs sent in the measured window before it ends (0: no cap)
  std::string client_endpoint = "tcp://[::1]:51500"; ///< the node's endpoint for clients
  std::string worker_endpoint = "tcp://[::1]:51510"; ///< the node's endpoint for workers
  std::string tls_ca;        ///< tls:// endpoints: CAs the node's certificate must chain to
  std::string tls_cert;      ///< tls:// endpoints: a client certificate, for tls-client-ca
  std::string tls_key;       ///< its private key
  bool direct = false;       ///< clients talk to rcbench's own workers, no node
  bool detach = false;       ///< detached RUNs: a RUN is done when its worker has it
  int broker_pid = 0;        ///< the node's process, for its CPU time and RSS (0: none)
  bool json = false;         ///< print the summary as one JSON line
  unsigned threads = 1;      ///< I/O threads (one io_context each)
  unsigned idle_clients = 0; ///< idle mode: client connections to open and hold
  unsigned idle_workers = 0; ///< idle mode: workers (capacity 1) to open and hold
  double hold_s = 0;         ///< idle mode: seconds to hold the idle connections
  bool help = false;         ///< print the help text and exit
  bool version = false;      ///< print the version and exit

  /// Whether the idle (memory) mode was asked for instead of a load.
  bool idle_mode() const noexcept { return idle_clients > 0 || idle_workers > 0 || hold_s > 0; }
};

/// Parsed options, or what is wrong with the command line.
struct parse_result {
  options value;     ///< the options (defaults where not given)
  std::string error; ///< empty when the command line is valid
};

/// Parses and range-checks `args` (argv without the program name).
parse_result parse_options(const std::vector<std::string>& args);

/// The text `--help` prints.
std::string help_text();

} // namespace rcbench
