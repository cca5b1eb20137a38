#include "rcbroker/node/config_file.hpp"

#include "rcbroker/node/options.hpp"

#include <cstdlib>
#include <fstream>

namespace rcbroker::node {

config_file_choice find_config_file(const std::string& flag) {
  if (!flag.empty())
    return {flag, true, "--config"};
  if (const char* env = std::getenv(config_file_variable); env != nullptr && *env != '\0')
    return {env, true, config_file_variable};
  if (std::ifstream{default_config_file}.good())
    return {default_config_file, false, "the working directory"};
  if (std::ifstream{system_config_file}.good())
    return {system_config_file, false, "the system's configuration"};
  return {"", false, ""};
}

std::string describe(const config_file_choice& choice) {
  if (choice.path.empty())
    return std::string{"none (no ./"} + default_config_file + " nor " + system_config_file +
           "): built-in defaults";
  if (!std::ifstream{choice.path}.good())
    return choice.path + " (from " + choice.origin + "; not readable)";
  return choice.path + " (from " + choice.origin + ")";
}

} // namespace rcbroker::node
