#pragma once

#include <string>

namespace rcbroker::admin {

/// What the admin endpoint says about the node besides its snapshot.
struct node_info {
  std::string name;      ///< `node-name`, or the host name when that is empty
  std::string version;   ///< the rcbroker version
  std::string admin_url; ///< where the admin endpoint listens, e.g. "http://127.0.0.1:51580"
};

} // namespace rcbroker::admin
