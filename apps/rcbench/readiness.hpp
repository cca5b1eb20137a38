#pragma once

#include "bench_worker.hpp"
#include "rcbroker/transport/endpoint.hpp"
#include "wire.hpp"

#include <chrono>
#include <vector>

namespace rcbench {

/// Waits until the node routes RUNs to every one of `workers` (REGISTER has no answer, so the
/// node may not have added the slots yet when the clients start). A probe connection (with
/// `tls` on a tls:// endpoint) sends one
/// RUN per registered slot; the node is ready when every one comes back OK and each worker got
/// at least one. Rounds repeat until then or until `limit` passes. Returns whether it is ready;
/// throws std::runtime_error when the probe cannot connect.
bool wait_until_routable(const rcbroker::transport::endpoint& client_endpoint,
                         boost::asio::ssl::context* tls,
                         const std::vector<const bench_worker*>& workers, unsigned capacity,
                         const cookie_format& cookies, const frame_template& run,
                         std::chrono::milliseconds limit);

} // namespace rcbench
