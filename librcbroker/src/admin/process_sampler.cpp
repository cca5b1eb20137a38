#include "rcbroker/admin/process_sampler.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace rcbroker::admin {

namespace {

std::string read_all(const char* path) {
  std::ifstream in{path};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

double boot_time() {
  std::istringstream in{read_all("/proc/stat")};
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value)
      return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

} // namespace

actors::process_sample parse_proc_stat(std::string_view stat, long ticks_per_second,
                                       long page_bytes, double boot_unix_seconds) {
  actors::process_sample x;
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  auto close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0)
    return x;
  std::vector<std::string_view> fields; // fields[0] is field 3 (state)
  for (auto rest = stat.substr(close + 1); !rest.empty();) {
    auto start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos)
      break;
    rest.remove_prefix(start);
    auto end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  auto field = [&](std::size_t number) -> std::uint64_t {
    std::uint64_t value = 0;
    if (number >= 3 && number - 3 < fields.size()) {
      auto f = fields[number - 3];
      std::from_chars(f.data(), f.data() + f.size(), value);
    }
    return value;
  };
  auto ticks = static_cast<double>(ticks_per_second);
  x.cpu_seconds = static_cast<double>(field(14) + field(15)) / ticks;
  x.threads = field(20);
  x.start_time_seconds = boot_unix_seconds + static_cast<double>(field(22)) / ticks;
  x.virtual_bytes = field(23);
  x.resident_bytes = field(24) * static_cast<std::uint64_t>(page_bytes);
  return x;
}

actors::process_sample sample_this_process() {
  auto x = parse_proc_stat(read_all("/proc/self/stat"), ::sysconf(_SC_CLK_TCK),
                           ::sysconf(_SC_PAGESIZE), boot_time());
  std::error_code ec;
  for (std::filesystem::directory_iterator it{"/proc/self/fd", ec}, end; !ec && it != end;
       it.increment(ec))
    ++x.open_fds;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    x.max_fds = limit.rlim_cur;
  return x;
}

} // namespace rcbroker::admin
