// unix-socket-mode: the permissions of the Unix socket files a node creates.

#include "rcbroker/node/settings.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

using namespace rcbroker::test_support;

namespace {

unsigned mode_of(const std::string& socket_url) {
  struct stat st {};
  auto path = socket_url.substr(std::string{"socket://"}.size());
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  EXPECT_TRUE(S_ISSOCK(st.st_mode)) << path;
  return st.st_mode & 07777;
}

} // namespace

TEST(SocketMode, UnixSocketFilesAre0660ByDefault) {
  test_node node;
  EXPECT_EQ(mode_of(node.client_unix), 0660u);
  EXPECT_EQ(mode_of(node.worker_unix), 0660u);
}

TEST(SocketMode, UnixSocketFilesGetTheConfiguredMode) {
  test_node node{[](rcbroker::node::settings& s) { s.unix_socket_mode = "0600"; }};
  EXPECT_EQ(mode_of(node.client_unix), 0600u);
  EXPECT_EQ(mode_of(node.worker_unix), 0600u);
  raw_peer owner{node.client_unix}; // the owner may still connect
  owner.send(original_cancel(new_cookie()));
  auto reply = owner.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(field(*reply, "rc"), "COOKIE_NOT_FOUND");
}

TEST(SocketMode, ABadModeIsRefusedByName) {
  for (auto bad : {"", "rw-rw----", "0999", "01777", "66O", "12345"}) {
    rcbroker::node::settings s;
    s.unix_socket_mode = bad;
    auto error = rcbroker::node::validate(s);
    EXPECT_NE(error.find("unix-socket-mode"), std::string::npos) << bad << ": " << error;
  }
  for (auto good : {"0660", "660", "0600", "0777", "0"}) {
    rcbroker::node::settings s;
    s.unix_socket_mode = good;
    EXPECT_EQ(rcbroker::node::validate(s), "") << good;
  }
}
