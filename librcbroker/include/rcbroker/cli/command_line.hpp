#pragma once

// What the node and the tools share on their command lines (docs/OPERATIONS.md, "Command lines"):
// one way to read options (`--opt VALUE` and `--opt=VALUE`, `--` ends the options), one form of
// usage error (`TOOL: MESSAGE` and `Try 'TOOL --help'.`, exit 64), `--version`, and `--help`
// text wrapped within 80 columns. No CAF, no Asio: rcbench links it too.

#include "rcbroker/cli/exit_code.hpp"

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcbroker::cli {

/// The version of the node and the tools (CMake's project(VERSION)).
const char* version() noexcept;

/// What `TOOL --version` prints: "TOOL VERSION\n".
std::string version_text(std::string_view tool);

/// Prints "TOOL: MESSAGE" and "Try 'TOOL --help'." on `err`; returns exit_code::usage.
int usage_error(std::string_view tool, std::string_view message, std::ostream& err);

/// Prints "TOOL: error: MESSAGE" on `err` (a failure that is not the command line's); returns
/// `code`.
int fail(std::string_view tool, std::string_view message, int code, std::ostream& err);

/// The widest line of any `--help` text.
inline constexpr std::size_t help_width = 80;

/// The column where option descriptions start in `--help`.
inline constexpr std::size_t help_column = 20;

/// `text` wrapped at spaces within `width` columns; every line but the first is indented by
/// `indent` spaces (the first is taken to start at `first_column`). Ends with a newline.
std::string wrap(std::string_view text, std::size_t indent, std::size_t first_column = 0,
                 std::size_t width = help_width);

/// One option of `--help`: "  FLAG" and its description from `column`, wrapped within 80 columns
/// with a hanging indent (on a line of its own under a FLAG too wide for the column).
std::string option_help(std::string_view flag, std::string_view description,
                        std::size_t column = help_column);

/// One argument as argument_reader splits it.
struct argument {
  std::string name;                        ///< "--opt" (without "=VALUE"), "-h", or the positional
  std::optional<std::string> inline_value; ///< VALUE of "--opt=VALUE"
  bool positional = false;                 ///< not an option (or after "--")
};

/// Reads a command line the same way in every tool: "--opt=VALUE" is split at the first '=',
/// "--opt VALUE" takes the next argument as the value (value_of), "-" alone and every argument
/// after "--" are positional.
class argument_reader {
public:
  explicit argument_reader(std::vector<std::string> args);
  argument_reader(int argc, char** argv);

  /// The next argument, or nullopt after the last.
  std::optional<argument> next();

  /// The value of the option `a`: its inline value, else the next argument; nullopt (and the
  /// caller's usage error needs_value(a)) when none is left.
  std::optional<std::string> value_of(const argument& a);

private:
  std::vector<std::string> args_;
  std::size_t next_ = 0;
  bool options_ended_ = false;
};

/// "unknown option NAME".
std::string unknown_option(const argument& a);

/// "option NAME needs a value".
std::string needs_value(const argument& a);

/// "option NAME takes no value" when a switch was given "=VALUE", else "".
std::string no_value_expected(const argument& a);

} // namespace rcbroker::cli
