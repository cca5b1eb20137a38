#include "shell_command.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <tuple>
#include <unistd.h>
#include <utility>
#include <vector>

extern char** environ;

namespace rcworker {

namespace {

// How often a running command looks at the task's cancel flag.
constexpr int cancel_poll_ms = 20;

// The command's descriptor for progress lines.
constexpr int progress_fd = 3;

/// A file descriptor closed when it goes out of scope.
class owned_fd {
public:
  owned_fd() = default;
  explicit owned_fd(int fd) : fd_(fd) {}
  owned_fd(owned_fd&& other) noexcept : fd_(other.release()) {}
  owned_fd& operator=(owned_fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~owned_fd() { reset(); }

  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

/// Both ends of a pipe, closed on exec in the child.
struct pipe_ends {
  owned_fd read;
  owned_fd write;
};

pipe_ends make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string{"cannot create a pipe: "} + std::strerror(errno));
  return {owned_fd{fds[0]}, owned_fd{fds[1]}};
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/// posix_spawn's attributes and file actions, destroyed with the object.
struct spawn_setup {
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_t actions;

  spawn_setup() {
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_init(&actions);
  }
  ~spawn_setup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

pid_t spawn_shell(const std::string& command, const rcbroker::client::task_context& task,
                  pipe_ends& in, pipe_ends& out, pipe_ends& err, pipe_ends& progress) {
  spawn_setup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, in.read.get(), 0);
  posix_spawn_file_actions_adddup2(&setup.actions, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&setup.actions, err.write.get(), 2);
  posix_spawn_file_actions_adddup2(&setup.actions, progress.write.get(), progress_fd);
  // The child leads its own process group, so that a cancel kills what the shell started too;
  // it gets the default signal mask and handlers back (rcworker blocks and ignores some).
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&setup.attributes, &none);
  posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
  posix_spawnattr_setpgroup(&setup.attributes, 0);
  posix_spawnattr_setflags(&setup.attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> environment;
  for (char** entry = environ; *entry; ++entry) {
    if (std::strncmp(*entry, "RC_PIPELINE=", 12) != 0 &&
        std::strncmp(*entry, "RC_COOKIE=", 10) != 0)
      environment.emplace_back(*entry);
  }
  environment.push_back("RC_PIPELINE=" + task.pipeline());
  environment.push_back("RC_COOKIE=" + task.cookie().to_string());
  std::vector<char*> envp;
  for (auto& entry : environment)
    envp.push_back(entry.data());
  envp.push_back(nullptr);

  std::string shell = "/bin/sh";
  std::string flag = "-c";
  std::string script = command;
  char* argv[] = {shell.data(), flag.data(), script.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, shell.c_str(), &setup.actions, &setup.attributes, argv, envp.data());
  if (rc != 0)
    throw std::runtime_error(std::string{"cannot start /bin/sh: "} + std::strerror(rc));
  return pid;
}

int wait_for_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Kills the command's process group and reports the task as cancelled.
[[noreturn]] void kill_cancelled(pid_t pid) {
  ::kill(-pid, SIGKILL);
  wait_for_exit(pid);
  throw rcbroker::client::task_cancelled{};
}

// Waits for the command to exit (it may have closed its output early), watching for a cancel.
int wait_for_exit(pid_t pid, const rcbroker::client::task_context& task) {
  int status = 0;
  for (;;) {
    auto r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR))
      return status;
    if (task.wait_for_cancel(std::chrono::milliseconds{cancel_poll_ms}))
      kill_cancelled(pid);
  }
}

// Sends each whole line of `pending` as the task's progress and keeps the unfinished rest; with
// `all`, the rest too. Empty lines are no JSON text, and are skipped.
void send_progress_lines(std::string& pending, const rcbroker::client::task_context& task,
                         bool all) {
  std::size_t start = 0;
  for (;;) {
    auto newline = pending.find('\n', start);
    if (newline == std::string::npos && !(all && start < pending.size()))
      break;
    auto end = newline == std::string::npos ? pending.size() : newline;
    auto line = pending.substr(start, end - start);
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (!line.empty())
      task.progress(std::move(line));
    start = end == pending.size() ? end : end + 1;
  }
  pending.erase(0, start);
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return text;
}

} // namespace

std::string run_shell_command(const std::string& command,
                              const rcbroker::client::task_context& task) {
  auto in = make_pipe();
  auto out = make_pipe();
  auto err = make_pipe();
  auto progress = make_pipe();
  pid_t pid = spawn_shell(command, task, in, out, err, progress);
  in.read.reset();
  out.write.reset();
  err.write.reset();
  progress.write.reset();
  set_nonblocking(in.write.get());
  set_nonblocking(out.read.get());
  set_nonblocking(err.read.get());
  set_nonblocking(progress.read.get());

  const std::string& input = task.variables();
  std::size_t written = 0;
  if (input.empty())
    in.write.reset();
  std::string stdout_text;
  std::string stderr_text;
  std::string progress_text;
  char chunk[65536];
  while (out.read.get() >= 0 || err.read.get() >= 0 || progress.read.get() >= 0) {
    if (task.cancelled())
      kill_cancelled(pid);
    pollfd fds[4] = {{in.write.get(), POLLOUT, 0},
                     {out.read.get(), POLLIN, 0},
                     {err.read.get(), POLLIN, 0},
                     {progress.read.get(), POLLIN, 0}};
    if (::poll(fds, 4, cancel_poll_ms) < 0 && errno != EINTR)
      break;
    if (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
      auto n = ::write(in.write.get(), input.data() + written, input.size() - written);
      if (n > 0)
        written += static_cast<std::size_t>(n);
      // A command that does not read all of stdin is fine: stop offering it.
      if (written == input.size() || (n < 0 && errno != EAGAIN && errno != EINTR))
        in.write.reset();
    }
    for (auto [index, fd, text] :
         {std::tuple{1, &out.read, &stdout_text}, std::tuple{2, &err.read, &stderr_text},
          std::tuple{3, &progress.read, &progress_text}}) {
      if (!(fds[index].revents & (POLLIN | POLLERR | POLLHUP)))
        continue;
      auto n = ::read(fd->get(), chunk, sizeof chunk);
      if (n > 0)
        text->append(chunk, static_cast<std::size_t>(n));
      else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        fd->reset();
    }
    send_progress_lines(progress_text, task, progress.read.get() < 0);
  }
  in.write.reset();
  int status = wait_for_exit(pid, task);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return stdout_text;
  std::string reason = WIFEXITED(status)
                           ? "command exited with status " + std::to_string(WEXITSTATUS(status))
                           : "command killed by signal " + std::to_string(WTERMSIG(status));
  auto text = trimmed(std::move(stderr_text));
  throw std::runtime_error(text.empty() ? reason : text);
}

} // namespace rcworker
