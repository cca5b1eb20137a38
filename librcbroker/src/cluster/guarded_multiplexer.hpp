#pragma once

// Private to the cluster code: CAF's network backend with limits on what a cluster connection
// may cost the node before anything on it is trusted.

#include <atomic>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace rcbroker::cluster {

/// The limits and what they refused; shared by the backend and its connections (the
/// middleman's thread writes, the admin endpoint reads).
struct connection_guard {
  /// Largest BASP payload a connection may announce (0: no limit).
  std::size_t max_payload = 0;
  /// Cluster connections open at once, either way (0: no limit).
  std::size_t max_connections = 0;
  std::atomic<std::uint64_t> open{0};
  std::atomic<std::uint64_t> oversized{0};
  std::atomic<std::uint64_t> over_limit{0};
};

/// CAF's default multiplexer whose TCP connections (`scribe`s) refuse to read a message larger
/// than the guard's `max_payload` (CAF 0.17 sizes its read buffer to whatever a BASP header
/// announces, before any handshake) and that closes at once a connection over `max_connections`.
class guarded_multiplexer : public caf::io::network::default_multiplexer {
public:
  guarded_multiplexer(caf::actor_system* sys, std::size_t max_payload, std::size_t max_connections);

  caf::io::scribe_ptr new_scribe(caf::io::network::native_socket fd) override;

  connection_guard& guard() noexcept { return *guard_; }

private:
  // Shared with the connections: the base class releases the last of them after this class's
  // members are gone.
  std::shared_ptr<connection_guard> guard_ = std::make_shared<connection_guard>();
};

/// CAF's middleman on a `guarded_multiplexer`: what `enable_clustering` loads.
class guarded_middleman : public caf::io::middleman {
public:
  guarded_middleman(caf::actor_system& sys, std::size_t max_payload, std::size_t max_connections)
      : middleman(sys), backend_(&sys, max_payload, max_connections) {}

  caf::io::network::multiplexer& backend() override { return backend_; }

private:
  guarded_multiplexer backend_;
};

} // namespace rcbroker::cluster
