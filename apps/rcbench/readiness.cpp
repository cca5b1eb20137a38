#include "readiness.hpp"

#include "net.hpp"
#include "rcbroker/protocol/packet_reader.hpp"

#include <boost/asio/write.hpp>
#include <poll.h>
#include <thread>

namespace rcbench {

namespace {

using namespace rcbroker::protocol;
using clock = std::chrono::steady_clock;

// Cookies of the probe use a client index no load client has.
constexpr std::uint16_t probe_client = 0xffff;

// Most RUNs one probe round sends.
constexpr std::size_t max_round = 4096;

// Reads `count` frames from `socket` before `deadline`; returns how many had rc OK, or -1 when the
// connection ended or the time ran out.
long read_results(bench_socket& socket, std::size_t count, clock::time_point deadline) {
  std::string in;
  std::size_t frames = 0;
  long ok = 0;
  char buf[16 * 1024];
  while (frames < count) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return -1;
    pollfd p{socket.lowest_layer().native_handle(), POLLIN, 0};
    if (socket.buffered() == 0 && ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      continue;
    boost::system::error_code ec;
    auto n = socket.read_some(boost::asio::buffer(buf), ec);
    if (ec)
      return -1;
    in.append(buf, n);
    std::size_t at = 0;
    while (in.size() - at >= 4) {
      auto b = reinterpret_cast<const unsigned char*>(in.data() + at);
      std::size_t length =
          (std::size_t{b[0]} << 24) | (std::size_t{b[1]} << 16) | (std::size_t{b[2]} << 8) | b[3];
      if (in.size() - at < 4 + length)
        break;
      std::string_view payload{in.data() + at + 4, length};
      if (read_payload(payload, payload.size(), read_scope::routing).fields.rc == result_code::ok)
        ++ok;
      ++frames;
      at += 4 + length;
    }
    in.erase(0, at);
  }
  return ok;
}

} // namespace

bool wait_until_routable(const rcbroker::transport::endpoint& client_endpoint,
                         boost::asio::ssl::context* tls,
                         const std::vector<const bench_worker*>& workers, unsigned capacity,
                         const cookie_format& cookies, const frame_template& run,
                         std::chrono::milliseconds limit) {
  boost::asio::io_context ioc{1};
  auto socket = connect_to(ioc, client_endpoint, tls);
  auto slots = static_cast<std::size_t>(capacity) * workers.size();
  auto round_size = std::min(slots, max_round);
  auto deadline = clock::now() + limit;
  std::uint64_t seq = 0;
  std::string out;
  while (clock::now() < deadline) {
    std::vector<std::uint64_t> before;
    for (auto* w : workers)
      before.push_back(w->runs_received());
    out.clear();
    for (std::size_t i = 0; i < round_size; ++i)
      cookies.write(run.append(out), probe_client,
                    static_cast<std::uint16_t>(i & cookie_format::max_slot), ++seq);
    boost::system::error_code ec;
    boost::asio::write(socket, boost::asio::buffer(out), ec);
    if (ec)
      throw std::runtime_error("probe connection to the node failed: " + ec.message());
    auto ok = read_results(socket, round_size, deadline);
    if (ok < 0)
      return false;
    bool every_worker = true;
    for (std::size_t i = 0; i < workers.size() && round_size == slots; ++i)
      every_worker = every_worker && workers[i]->runs_received() > before[i];
    if (static_cast<std::size_t>(ok) == round_size && every_worker)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return false;
}

} // namespace rcbench
