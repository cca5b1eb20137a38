#include "rcbroker/cli/command_line.hpp"

#include <ostream>

#ifndef RCBROKER_VERSION
#define RCBROKER_VERSION "unknown"
#endif

namespace rcbroker::cli {

const char* version() noexcept {
  return RCBROKER_VERSION;
}

std::string version_text(std::string_view tool) {
  return std::string{tool} + " " + version() + "\n";
}

int usage_error(std::string_view tool, std::string_view message, std::ostream& err) {
  err << tool << ": " << message << "\nTry '" << tool << " --help'.\n";
  return exit_code::usage;
}

int fail(std::string_view tool, std::string_view message, int code, std::ostream& err) {
  err << tool << ": error: " << message << "\n";
  return code;
}

std::string wrap(std::string_view text, std::size_t indent, std::size_t first_column,
                 std::size_t width) {
  std::string out;
  std::size_t column = first_column;
  bool line_empty = true;
  while (!text.empty()) {
    auto start = text.find_first_not_of(' ');
    if (start == std::string_view::npos)
      break;
    text.remove_prefix(start);
    auto word = text.substr(0, text.find(' '));
    text.remove_prefix(word.size());
    if (!line_empty && column + 1 + word.size() > width) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    line_empty = false;
  }
  return out + "\n";
}

std::string option_help(std::string_view flag, std::string_view description, std::size_t column) {
  std::string out = "  " + std::string{flag};
  if (out.size() + 2 > column) // at least two spaces before the description
    out += "\n" + std::string(column, ' ');
  else
    out += std::string(column - out.size(), ' ');
  return out + wrap(description, column, column);
}

argument_reader::argument_reader(std::vector<std::string> args) : args_(std::move(args)) {}

argument_reader::argument_reader(int argc, char** argv)
    : argument_reader(std::vector<std::string>(argv + (argc > 0 ? 1 : 0), argv + argc)) {}

std::optional<argument> argument_reader::next() {
  while (next_ < args_.size()) {
    const std::string& arg = args_[next_++];
    argument a;
    if (options_ended_ || arg.size() < 2 || arg.front() != '-') {
      a.name = arg;
      a.positional = true;
      return a;
    }
    if (arg == "--") {
      options_ended_ = true;
      continue;
    }
    auto eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      a.name = arg.substr(0, eq);
      a.inline_value = arg.substr(eq + 1);
    } else {
      a.name = arg;
    }
    return a;
  }
  return std::nullopt;
}

std::optional<std::string> argument_reader::value_of(const argument& a) {
  if (a.inline_value)
    return a.inline_value;
  if (next_ < args_.size())
    return args_[next_++];
  return std::nullopt;
}

std::string unknown_option(const argument& a) {
  return "unknown option " + a.name;
}

std::string needs_value(const argument& a) {
  return "option " + a.name + " needs a value";
}

std::string no_value_expected(const argument& a) {
  return a.inline_value ? "option " + a.name + " takes no value" : std::string{};
}

} // namespace rcbroker::cli
