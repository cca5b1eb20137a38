// The journal's SQLite store on its own: what it keeps, in which order, across a reopen, and how
// it tells a file it must not use from one it cannot write now.

#include "journal_rows.hpp"
#include "rcbroker/journal/journal_store.hpp"
#include "test_node.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <string>
#include <vector>

using namespace rcbroker;
using rcbroker::test_support::journal_rows;
using rcbroker::test_support::temp_dir;

namespace {

protocol::cookie cookie_n(std::uint8_t n) {
  protocol::cookie c;
  c.bytes[15] = n;
  return c;
}

journal::journal_entry add(std::uint8_t n, bool detach = true) {
  return {cookie_n(n), protocol::frame{"{\"packet_type\":\"RUN\",\"n\":" + std::to_string(n) + "}"},
          detach, n * 10, n % 3 - 1};
}

journal::journal_entry remove(std::uint8_t n) {
  return {cookie_n(n), {}, false, 0, -1};
}

std::unique_ptr<journal::journal_store>
open_ok(const std::string& path, journal::journal_sync sync = journal::journal_sync::batch) {
  auto opened = journal::journal_store::open(path, sync);
  EXPECT_TRUE(opened.store) << opened.error;
  return std::move(opened.store);
}

} // namespace

TEST(JournalStore, KeepsRunsInOrderAcrossAReopenAndForgetsRemovedOnes) {
  temp_dir dir;
  auto path = dir.path + "/j.db";
  {
    auto store = open_ok(path);
    ASSERT_TRUE(store);
    std::string error;
    ASSERT_TRUE(store->apply({add(1), add(2, false), add(3)}, error)) << error;
    ASSERT_TRUE(store->apply({remove(2), add(4), remove(9)}, error)) << error;
    EXPECT_EQ(store->size(), 3u);
  }
  auto store = open_ok(path, journal::journal_sync::always);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->size(), 3u);
  std::vector<journal::journal_entry> held;
  std::string error;
  ASSERT_TRUE(store->load(held, error)) << error;
  ASSERT_EQ(held.size(), 3u);
  std::vector<std::uint8_t> order{1, 3, 4};
  for (std::size_t i = 0; i < held.size(); ++i) {
    auto expected = add(order[i]);
    EXPECT_EQ(held[i].id, expected.id);
    EXPECT_EQ(held[i].run, expected.run);
    EXPECT_EQ(held[i].detach, expected.detach);
    EXPECT_EQ(held[i].priority, expected.priority);
    EXPECT_EQ(held[i].retries, expected.retries);
  }
}

TEST(JournalStore, ACookieAddedAgainReplacesItsRowAndGoesLast) {
  temp_dir dir;
  auto store = open_ok(dir.path + "/j.db");
  ASSERT_TRUE(store);
  std::string error;
  ASSERT_TRUE(store->apply({add(1), add(2), add(1)}, error)) << error;
  EXPECT_EQ(store->size(), 2u);
  std::vector<journal::journal_entry> held;
  ASSERT_TRUE(store->load(held, error));
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].id, cookie_n(2));
  EXPECT_EQ(held[1].id, cookie_n(1));
}

TEST(JournalStore, ItsFileIsPlainSqliteToOthersAndItsLogStartsOverAfterACheckpoint) {
  temp_dir dir;
  auto path = dir.path + "/j.db";
  auto store = open_ok(path);
  ASSERT_TRUE(store);
  std::string error;
  // Batches of adds and removals, as the Switchboard sends them: the last 8 stay.
  std::uint8_t next = 0;
  for (int batch = 0; batch < 30; ++batch) {
    std::vector<journal::journal_entry> entries;
    for (int i = 0; i < 8; ++i) {
      if (batch > 0)
        entries.push_back(remove(static_cast<std::uint8_t>(next - 8 + i)));
    }
    for (int i = 0; i < 8; ++i)
      entries.push_back(add(next++));
    ASSERT_TRUE(store->apply(entries, error)) << error;
  }
  EXPECT_EQ(store->size(), 8u);
  auto frames = store->log_frames();
  EXPECT_GT(frames, 30) << "every commit adds frames; none was checkpointed";
  // Another connection with SQLite's own VFS reads what the gathered writes put in the log.
  EXPECT_EQ(journal_rows(path), 8);
  ASSERT_TRUE(store->checkpoint(error)) << error;
  ASSERT_TRUE(store->apply({add(200)}, error)) << error;
  EXPECT_LT(store->log_frames(), frames) << "the log starts over after a full checkpoint";
  EXPECT_EQ(journal_rows(path), 9);
}

TEST(JournalStore, OneFileServesOneStoreAtATime) {
  temp_dir dir;
  auto path = dir.path + "/j.db";
  {
    auto first = open_ok(path);
    ASSERT_TRUE(first);
    auto second = journal::journal_store::open(path, journal::journal_sync::batch);
    EXPECT_FALSE(second.store);
    EXPECT_TRUE(second.in_use);
    EXPECT_FALSE(second.unusable) << "the file is fine; another node has it";
    EXPECT_NE(second.error.find("another process uses it"), std::string::npos) << second.error;
    // sqlite3 may still read it while the node runs.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "SELECT count(*) FROM runs", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  EXPECT_TRUE(open_ok(path)) << "the lock goes with the store";
}

TEST(JournalStore, AFileThatIsNoDatabaseIsUnusable) {
  temp_dir dir;
  auto path = dir.path + "/j.db";
  std::ofstream{path} << std::string(8192, 'z');
  auto opened = journal::journal_store::open(path, journal::journal_sync::batch);
  EXPECT_FALSE(opened.store);
  EXPECT_TRUE(opened.unusable);
  EXPECT_NE(opened.error.find("not a database"), std::string::npos) << opened.error;
}

TEST(JournalStore, AnotherApplicationsDatabaseIsUnusable) {
  temp_dir dir;
  auto path = dir.path + "/j.db";
  {
    auto store = open_ok(path);
    ASSERT_TRUE(store);
  }
  // Another program's table in it: not ours to run.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "PRAGMA application_id=7", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto opened = journal::journal_store::open(path, journal::journal_sync::batch);
  EXPECT_FALSE(opened.store);
  EXPECT_TRUE(opened.unusable);
  EXPECT_NE(opened.error.find("another application"), std::string::npos) << opened.error;
}

TEST(JournalStore, AFolderThatCannotBeWrittenIsAFailureThatMayPassNotUnusable) {
  auto opened =
      journal::journal_store::open("/proc/no-such-folder/j.db", journal::journal_sync::batch);
  EXPECT_FALSE(opened.store);
  EXPECT_FALSE(opened.unusable);
  EXPECT_FALSE(opened.error.empty());
}

TEST(JournalStore, SyncSettingsReadAndPrint) {
  for (auto text : {"always", "batch", "off"}) {
    journal::journal_sync sync;
    ASSERT_TRUE(journal::parse_journal_sync(text, sync));
    EXPECT_STREQ(journal::to_string(sync), text);
  }
  journal::journal_sync sync;
  EXPECT_FALSE(journal::parse_journal_sync("sometimes", sync));
}
