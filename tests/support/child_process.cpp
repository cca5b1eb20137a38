#include "child_process.hpp"

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace rcbroker::test_support {

child_process::child_process(const std::string& program, const std::vector<std::string>& args,
                             const std::string& log_file,
                             std::optional<open_files_limit> open_files)
    : log_file_(log_file) {
  std::vector<std::string> all{program};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    // The test's own sockets must not live on in the child and hide a "closed by peer".
    for (int other = 3; other < 4096; ++other)
      ::close(other);
    if (open_files) {
      rlimit limit{open_files->soft, open_files->hard};
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
        ::_exit(126);
    }
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
}

child_process::~child_process() {
  if (!exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void child_process::signal(int sig) {
  if (!exited_)
    ::kill(pid_, sig);
}

std::optional<int> child_process::wait(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    auto r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      if (WIFEXITED(status))
        return WEXITSTATUS(status);
      if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return std::nullopt;
}

std::string child_process::log() const {
  std::ifstream in{log_file_};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool child_process::log_contains(const std::string& text, int timeout_ms) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  do {
    if (log().find(text) != std::string::npos)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

} // namespace rcbroker::test_support
