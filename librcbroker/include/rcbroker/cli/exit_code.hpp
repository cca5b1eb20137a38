#pragma once

// The exit statuses of the node and the tools: the values of BSD's sysexits.h, one convention for
// rcbroker, rcsubmit, rcworker and rcbench. rcsubmit's result codes (1..11: the RESULT's rc in
// protocol order, a timeout, no connection) are its own and documented apart (rcsubmit --help).

namespace rcbroker::cli::exit_code {

inline constexpr int ok = 0;             ///< done, or stopped as asked (a signal, SHUTDOWN)
inline constexpr int failure = 1;        ///< rcbench: the run completed no task
inline constexpr int usage = 64;         ///< EX_USAGE: a bad option, a value that does not parse
inline constexpr int data_error = 65;    ///< EX_DATAERR: input data that is not valid
inline constexpr int no_input = 66;      ///< EX_NOINPUT: an input file that cannot be read
inline constexpr int unavailable = 69;   ///< EX_UNAVAILABLE: cannot bind, connect or start
inline constexpr int software = 70;      ///< EX_SOFTWARE: an internal error
inline constexpr int io_error = 74;      ///< EX_IOERR: an I/O error
inline constexpr int no_permission = 77; ///< EX_NOPERM: refused (a token, TLS trust)
inline constexpr int config = 78;        ///< EX_CONFIG: a config file or setting that is not valid

} // namespace rcbroker::cli::exit_code
