// A Unix socket path that a live node listens on is not taken over by a second node started on
// it (which would unlink the file and take the first node's new clients); a stale socket file,
// one nobody listens on, is still removed and reused.

#include "child_process.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace rcbroker::test_support;

namespace {

std::vector<std::string> node_args(const std::string& client_url, const std::string& worker_url) {
  return {"--config", RCBROKER_SOURCE_DIR "/caf-application.conf",
          "--serve",  client_url,
          "--listen", worker_url};
}

// A CANCEL of an unknown cookie is always answered by the node that holds the connection.
bool served(const std::string& url) {
  raw_peer client{url};
  client.send(original_cancel(new_cookie()));
  auto reply = client.receive();
  return reply && field(*reply, "rc") == "COOKIE_NOT_FOUND";
}

// A socket file as a crashed node leaves it: bound, then closed without unlink.
void leave_stale_socket_file(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof address.sun_path);
  path.copy(address.sun_path, path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ::close(fd);
}

} // namespace

TEST(UnixSocketTakeover, ASecondNodeOnALiveSocketPathRefusesToStartAndTheFirstKeepsServing) {
  temp_dir dir;
  auto shared = "socket://" + dir.path + "/c.sock";
  child_process a{RCBROKER_BINARY, node_args(shared, "socket://" + dir.path + "/w-a.sock"),
                  dir.path + "/a.log"};
  ASSERT_TRUE(a.log_contains("rcbroker ready")) << a.log();

  child_process b{RCBROKER_BINARY, node_args(shared, "socket://" + dir.path + "/w-b.sock"),
                  dir.path + "/b.log"};
  auto code = b.wait();
  ASSERT_TRUE(code) << "the second node did not stop";
  EXPECT_NE(*code, 0);
  EXPECT_NE(b.log().find("another process is listening on " + shared +
                         "; stop it or choose another path"),
            std::string::npos)
      << b.log();

  EXPECT_TRUE(std::filesystem::exists(dir.path + "/c.sock")) << "the live file was removed";
  EXPECT_TRUE(served(shared)) << "node A no longer gets the clients of its path";
  EXPECT_FALSE(a.wait(100)) << "node A stopped:\n" << a.log();
}

TEST(UnixSocketTakeover, AStaleSocketFileIsRemovedAndItsPathReused) {
  temp_dir dir;
  leave_stale_socket_file(dir.path + "/c.sock");
  auto url = "socket://" + dir.path + "/c.sock";
  child_process node{RCBROKER_BINARY, node_args(url, "socket://" + dir.path + "/w.sock"),
                     dir.path + "/node.log"};
  ASSERT_TRUE(node.log_contains("rcbroker ready")) << node.log();
  EXPECT_TRUE(served(url));
}
