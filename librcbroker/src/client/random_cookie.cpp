#include "rcbroker/client/random_cookie.hpp"

#include <algorithm>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid.hpp>

namespace rcbroker::client {

protocol::cookie random_cookie() {
  // Boost's generator reads the system's entropy source (getrandom): a version 4 UUID that no
  // other client can predict.
  thread_local boost::uuids::random_generator generator;
  auto id = generator();
  protocol::cookie c;
  std::copy(id.begin(), id.end(), c.bytes.begin());
  return c;
}

} // namespace rcbroker::client
