// The journal through the node as a process (docs/RELIABILITY.md): detached and queued RUNs
// survive SIGKILL and run exactly once more after a restart on the same file; finished ones do
// not; a full or read-only file system refuses detached RUNs and the node serves the rest; a
// corrupt file refuses the start with what to do.

#include "child_process.hpp"
#include "eventually.hpp"
#include "journal_rows.hpp"
#include "raw_peer.hpp"
#include "test_node.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <sqlite3.h>
#include <string>
#include <vector>

using namespace rcbroker::test_support;

namespace {

std::vector<std::string> node_args(const std::string& dir, const std::string& journal,
                                   std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--config",       RCBROKER_SOURCE_DIR "/caf-application.conf",
                                "--serve",        "socket://" + dir + "/c.sock",
                                "--listen",       "socket://" + dir + "/w.sock",
                                "--journal",      journal,
                                "--cancel-grace", "100ms"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

/// Starts rcbroker with Unix endpoints in `dir` and a journal; waits until it is ready.
std::unique_ptr<child_process> start_node(const temp_dir& dir, const std::string& log,
                                          std::vector<std::string> extra = {}) {
  auto p = std::make_unique<child_process>(
      RCBROKER_BINARY, node_args(dir.path, dir.path + "/journal.db", std::move(extra)),
      dir.path + "/" + log);
  EXPECT_TRUE(p->log_contains("rcbroker ready")) << p->log();
  return p;
}

/// Reads the RUNs a worker is sent until none comes for `quiet_ms`; counts them by cookie and
/// answers each with OK when `answer`.
std::map<std::string, int> collect_runs(raw_peer& worker, bool answer, int quiet_ms = 700) {
  std::map<std::string, int> seen;
  while (auto packet = worker.receive(quiet_ms)) {
    if (field(*packet, "packet_type") != "RUN")
      continue;
    auto cookie = field(*packet, "cookie");
    ++seen[cookie];
    if (answer)
      worker.send(original_result(cookie, "{\"ok\": true}"));
  }
  return seen;
}

/// Whether this process may make a mount namespace with a tmpfs of its own (root, or CAP_SYS_ADMIN
/// in a container that allows it): the full and read-only file system tests need one.
bool can_mount_tmpfs() {
  return std::system("unshare -m sh -c 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d' "
                     ">/dev/null 2>&1") == 0;
}

/// Starts rcbroker in a mount namespace of its own, its journal on a tmpfs of `size` at
/// `dir`/fs (seen only by the node), mounted read-only with `read_only`.
std::unique_ptr<child_process> start_node_on_tmpfs(const temp_dir& dir, const std::string& size,
                                                   bool read_only = false) {
  auto fs = dir.path + "/fs";
  std::filesystem::create_directory(fs);
  std::string command = "mount -t tmpfs -o size=" + size + " tmpfs " + fs +
                        (read_only ? " && mount -o remount,ro " + fs : std::string{}) +
                        " && exec " + RCBROKER_BINARY;
  for (auto& arg : node_args(dir.path, fs + "/journal.db"))
    command += " '" + arg + "'";
  auto p = std::make_unique<child_process>("/usr/bin/unshare",
                                           std::vector<std::string>{"-m", "sh", "-c", command},
                                           dir.path + "/node.log");
  EXPECT_TRUE(p->log_contains("rcbroker ready")) << p->log();
  return p;
}

} // namespace

TEST(JournalProcess, DetachedRunsAcceptedWithoutAWorkerRunExactlyOnceAfterSigkill) {
  temp_dir dir;
  auto journal = dir.path + "/journal.db";
  std::set<std::string> sent;
  {
    auto node = start_node(dir, "first.log");
    raw_peer client{"socket://" + dir.path + "/c.sock"};
    for (int i = 0; i < 20; ++i) {
      auto cookie = new_cookie();
      sent.insert(cookie);
      client.send(original_run(cookie, "echo", "{\"n\": " + std::to_string(i) + "}", true));
    }
    // Taken, not refused: no answer comes, and all 20 reach the file.
    EXPECT_FALSE(client.receive(300));
    ASSERT_TRUE(eventually([&] { return journal_rows(journal) == 20; })) << journal_rows(journal);
    node->signal(SIGKILL);
    node->wait();
  }
  auto node = start_node(dir, "second.log");
  EXPECT_TRUE(node->log_contains("20 run(s) from before this start")) << node->log();
  raw_peer worker{"socket://" + dir.path + "/w.sock"};
  worker.send(original_register(4));
  auto seen = collect_runs(worker, true);
  EXPECT_EQ(seen.size(), sent.size());
  for (auto& cookie : sent)
    EXPECT_EQ(seen[cookie], 1) << cookie;
  EXPECT_TRUE(eventually([&] { return journal_rows(journal) == 0; })) << journal_rows(journal);
  // A third start finds nothing left to run.
  node->signal(SIGKILL);
  node->wait();
  auto third = start_node(dir, "third.log");
  EXPECT_TRUE(third->log_contains("0 run(s) from before this start")) << third->log();
}

TEST(JournalProcess, QueuedRunsRunExactlyOnceAfterSigkill) {
  temp_dir dir;
  auto journal = dir.path + "/journal.db";
  std::set<std::string> sent;
  {
    auto node = start_node(dir, "first.log", {"--queue-limit", "10"});
    raw_peer client{"socket://" + dir.path + "/c.sock"};
    for (int i = 0; i < 5; ++i) {
      auto cookie = new_cookie();
      sent.insert(cookie);
      client.send(original_run(cookie, "echo", "{}"));
    }
    EXPECT_FALSE(client.receive(300)) << "queued RUNs wait";
    ASSERT_TRUE(eventually([&] { return journal_rows(journal) == 5; })) << journal_rows(journal);
    node->signal(SIGKILL);
    node->wait();
  }
  auto node = start_node(dir, "second.log", {"--queue-limit", "10"});
  raw_peer worker{"socket://" + dir.path + "/w.sock"};
  worker.send(original_register(2));
  auto seen = collect_runs(worker, true);
  EXPECT_EQ(seen.size(), sent.size());
  for (auto& cookie : sent)
    EXPECT_EQ(seen[cookie], 1) << cookie;
  EXPECT_TRUE(eventually([&] { return journal_rows(journal) == 0; }));
}

TEST(JournalProcess, ARunWhoseResultArrivedDoesNotRunAgainAndOneStillRunningDoes) {
  temp_dir dir;
  auto journal = dir.path + "/journal.db";
  std::set<std::string> finished;
  std::set<std::string> running;
  {
    auto node = start_node(dir, "first.log");
    raw_peer worker{"socket://" + dir.path + "/w.sock"};
    worker.send(original_register(10));
    raw_peer client{"socket://" + dir.path + "/c.sock"};
    for (int i = 0; i < 6; ++i)
      client.send(original_run(new_cookie(), "echo", "{}", true));
    // The worker answers the first three it gets and keeps the others running.
    for (int i = 0; i < 6; ++i) {
      auto run = worker.receive();
      ASSERT_TRUE(run);
      auto cookie = field(*run, "cookie");
      if (i < 3) {
        worker.send(original_result(cookie, "{}"));
        finished.insert(cookie);
      } else {
        running.insert(cookie);
      }
    }
    ASSERT_TRUE(eventually([&] { return journal_rows(journal) == 3; })) << journal_rows(journal);
    node->signal(SIGKILL);
    node->wait();
  }
  auto node = start_node(dir, "second.log");
  raw_peer worker{"socket://" + dir.path + "/w.sock"};
  worker.send(original_register(10));
  auto seen = collect_runs(worker, true);
  EXPECT_EQ(seen.size(), running.size());
  for (auto& cookie : running)
    EXPECT_EQ(seen[cookie], 1) << "dispatched without a RESULT: runs again, once";
  for (auto& cookie : finished)
    EXPECT_EQ(seen.count(cookie), 0u) << "finished before the kill: must not run again";
}

TEST(JournalProcess, ACorruptJournalRefusesTheStartAndSaysWhatToDo) {
  temp_dir dir;
  auto journal = dir.path + "/journal.db";
  std::ofstream{journal} << "this is not an SQLite database, whatever its name says\n";
  child_process node{RCBROKER_BINARY, node_args(dir.path, journal), dir.path + "/node.log"};
  auto code = node.wait();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 65) << "EX_DATAERR: a restart does not mend it";
  EXPECT_TRUE(node.log_contains("not a journal this node can use")) << node.log();
  EXPECT_TRUE(node.log_contains("Move the file away")) << node.log();
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/c.sock")) << "it must not serve";
}

TEST(JournalProcess, AFullFileSystemRefusesDetachedRunsKeepsWhatWasJournaledAndServesTheRest) {
  if (!can_mount_tmpfs())
    GTEST_SKIP() << "no mount namespace with a tmpfs here (needs root or CAP_SYS_ADMIN)";
  temp_dir dir;
  auto node = start_node_on_tmpfs(dir, "256k");
  raw_peer client{"socket://" + dir.path + "/c.sock"};
  // 16 KiB of variables a RUN: the file system fills within a few dozen.
  std::string big = "{\"pad\": \"" + std::string(16 * 1024, 'x') + "\"}";
  std::set<std::string> taken;
  std::string refusal;
  for (int i = 0; i < 100 && refusal.empty(); ++i) {
    auto cookie = new_cookie();
    client.send(original_run(cookie, "echo", big, true));
    if (auto answer = client.receive(300)) {
      EXPECT_EQ(field(*answer, "rc"), "NO_CAPACITY") << *answer;
      EXPECT_EQ(field(*answer, "cookie"), cookie);
      refusal = field(*answer, "error");
    } else {
      taken.insert(cookie);
    }
  }
  ASSERT_FALSE(refusal.empty()) << "the file system never filled";
  EXPECT_NE(refusal.find("The journal could not keep this detached RUN"), std::string::npos)
      << refusal;
  EXPECT_NE(refusal.find("full"), std::string::npos) << refusal;
  EXPECT_TRUE(node->log_contains("could not be written")) << node->log();
  ASSERT_FALSE(taken.empty());
  // What was journaled before runs, and a RUN that needs no journal is served.
  raw_peer worker{"socket://" + dir.path + "/w.sock"};
  worker.send(original_register(4));
  auto seen = collect_runs(worker, true);
  for (auto& cookie : taken)
    EXPECT_EQ(seen[cookie], 1) << cookie;
  auto cookie = new_cookie();
  client.send(original_run(cookie, "echo", "{}"));
  auto run = worker.receive();
  ASSERT_TRUE(run);
  EXPECT_EQ(field(*run, "cookie"), cookie);
  worker.send(original_result(cookie, "{\"ok\": 1}"));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "rc"), "OK");
  node->signal(SIGTERM);
  EXPECT_EQ(node->wait(), 0) << node->log();
}

TEST(JournalProcess, AReadOnlyFileSystemRefusesDetachedRunsAndTheNodeServesTheRest) {
  if (!can_mount_tmpfs())
    GTEST_SKIP() << "no mount namespace with a tmpfs here (needs root or CAP_SYS_ADMIN)";
  temp_dir dir;
  auto node = start_node_on_tmpfs(dir, "4m", true);
  EXPECT_TRUE(node->log_contains("the node starts without it")) << node->log();
  raw_peer client{"socket://" + dir.path + "/c.sock"};
  auto detached = new_cookie();
  client.send(original_run(detached, "echo", "{}", true));
  auto answer = client.receive();
  ASSERT_TRUE(answer);
  EXPECT_EQ(field(*answer, "rc"), "NO_CAPACITY") << *answer;
  EXPECT_NE(field(*answer, "error").find("The journal could not keep this detached RUN"),
            std::string::npos)
      << *answer;
  EXPECT_TRUE(node->log_contains("could not be written")) << node->log();
  raw_peer worker{"socket://" + dir.path + "/w.sock"};
  worker.send(original_register(1));
  auto cookie = run_until_accepted(client, worker);
  ASSERT_FALSE(cookie.empty());
  worker.send(original_result(cookie, "{}"));
  auto result = client.receive();
  ASSERT_TRUE(result);
  EXPECT_EQ(field(*result, "rc"), "OK");
  node->signal(SIGTERM);
  EXPECT_EQ(node->wait(), 0) << node->log();
}

TEST(JournalProcess, ASecondNodeOnTheSameJournalRefusesToStart) {
  temp_dir dir;
  auto first = start_node(dir, "first.log");
  temp_dir other;
  child_process second{RCBROKER_BINARY, node_args(other.path, dir.path + "/journal.db"),
                       other.path + "/second.log"};
  auto code = second.wait();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 69) << second.log();
  EXPECT_TRUE(second.log_contains("another process uses it")) << second.log();
  EXPECT_TRUE(second.log_contains("a journal of its own")) << second.log();
  first->signal(SIGTERM);
  EXPECT_EQ(first->wait(), 0) << first->log();
}
