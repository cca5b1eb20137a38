#pragma once

// Starts a program (the rcbroker binary) as a child process for multi-process tests.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rcbroker::test_support {

/// The file descriptor limit (RLIMIT_NOFILE) a child starts with.
struct open_files_limit {
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
};

/// A child process whose stdout and stderr go to a log file.
class child_process {
public:
  /// Starts `program` with `args`; output goes to `log_file`. With `open_files`, the child gets
  /// that descriptor limit before it runs `program` (the test process keeps its own).
  child_process(const std::string& program, const std::vector<std::string>& args,
                const std::string& log_file,
                std::optional<open_files_limit> open_files = std::nullopt);

  /// Kills the child (SIGKILL) if it still runs.
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Sends `signal`.
  void signal(int signal);

  /// Waits up to `timeout_ms` for the exit; returns the exit code (128+N for signal N).
  std::optional<int> wait(int timeout_ms = 10000);

  /// Whether the log contains `text`, waiting up to `timeout_ms` for it to appear.
  bool log_contains(const std::string& text, int timeout_ms = 10000) const;

  /// The log so far.
  std::string log() const;

  int pid() const noexcept { return pid_; }

private:
  int pid_ = -1;
  bool exited_ = false;
  std::string log_file_;
};

} // namespace rcbroker::test_support
