#include "guarded_multiplexer.hpp"

#include "rcbroker/logging/repeated.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/network/scribe_impl.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

namespace rcbroker::cluster {

namespace {

class guarded_scribe : public caf::io::network::scribe_impl {
public:
  guarded_scribe(caf::io::network::default_multiplexer& mx, caf::io::network::native_socket fd,
                 std::shared_ptr<connection_guard> guard)
      : scribe_impl(mx, fd), guard_(std::move(guard)) {
    ++guard_->open;
  }

  ~guarded_scribe() override { --guard_->open; }

  void configure_read(caf::io::receive_policy::config config) override {
    if (guard_->max_payload != 0 && config.second > guard_->max_payload) {
      auto n = ++guard_->oversized;
      if (logging::worth_logging(n))
        spdlog::warn("cluster: connection from {}:{} announced a message of {} bytes (the cap "
                     "is {}: max-frame-size and some room); closed ({} so far)",
                     addr(), port(), config.second, guard_->max_payload, n);
      // CAF would allocate what was announced: read one byte instead, which the BASP broker
      // takes for a malformed message, and end the connection.
      ::shutdown(stream_.fd(), SHUT_RDWR);
      scribe_impl::configure_read(caf::io::receive_policy::exactly(1));
      return;
    }
    scribe_impl::configure_read(config);
  }

private:
  std::shared_ptr<connection_guard> guard_;
};

} // namespace

guarded_multiplexer::guarded_multiplexer(caf::actor_system* sys, std::size_t max_payload,
                                         std::size_t max_connections)
    : default_multiplexer(sys) {
  guard_->max_payload = max_payload;
  guard_->max_connections = max_connections;
}

caf::io::scribe_ptr guarded_multiplexer::new_scribe(caf::io::network::native_socket fd) {
  caf::io::network::keepalive(fd, true);
  if (guard_->max_connections != 0 && guard_->open >= guard_->max_connections) {
    auto n = ++guard_->over_limit;
    if (logging::worth_logging(n))
      spdlog::warn("cluster: {} cluster connections are open (cluster-max-connections); a new "
                   "one is closed ({} so far)",
                   guard_->open.load(), n);
    // The BASP broker sees the end of the stream at its first read and cleans up as usual.
    ::shutdown(fd, SHUT_RDWR);
  }
  return caf::make_counted<guarded_scribe>(*this, fd, guard_);
}

} // namespace rcbroker::cluster
