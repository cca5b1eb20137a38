// The Switchboard with a journal (docs/RELIABILITY.md), message by message: what it writes and
// removes, and that a detached RUN runs only once written. A fake journal actor records each
// batch and answers only when the test says.

#include "switchboard_fixture.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <memory>
#include <vector>

namespace rcbroker::actors::sbtest {
namespace {

/// What the fake journal was sent, and the answers it holds back.
struct journal_record {
  std::vector<std::vector<journal::journal_entry>> batches;
  std::vector<caf::typed_response_promise<journal_commit>> held;
  journal_commit answer; ///< what the held batches get at the next `flush`
};

journal_actor::behavior_type fake_journal(journal_actor::pointer self,
                                          std::shared_ptr<journal_record> record) {
  return {
      [self, record](journal_atom, std::vector<journal::journal_entry>& batch) {
        record->batches.push_back(std::move(batch));
        auto rp = self->make_response_promise<journal_commit>();
        record->held.push_back(rp);
        return rp;
      },
      // The test's cue: answer every batch held so far.
      [record](flush_atom) {
        for (auto& rp : record->held)
          rp.deliver(record->answer);
        record->held.clear();
      },
      [](shutdown_atom) { return done_atom::value; },
  };
}

class SwitchboardJournalTest : public SwitchboardTest {
protected:
  void start_journaled(switchboard_config config = {}) {
    journal_ = sys_.spawn(fake_journal, record_);
    config.journal = journal_;
    start(config);
  }

  ~SwitchboardJournalTest() override { caf::anon_send_exit(journal_, caf::exit_reason::kill); }

  /// Answers every batch sent so far as written (or failed with `error`).
  void commit(bool ok = true, std::string error = {}) {
    record_->answer = journal_commit{ok, std::move(error), 1000};
    caf::anon_send(journal_, flush_atom::value);
    sched_.run();
  }

  /// Every entry sent so far, in order.
  std::vector<journal::journal_entry> entries() const {
    std::vector<journal::journal_entry> all;
    for (auto& b : record_->batches)
      all.insert(all.end(), b.begin(), b.end());
    return all;
  }

  std::shared_ptr<journal_record> record_ = std::make_shared<journal_record>();
  journal_actor journal_;
};

TEST_F(SwitchboardJournalTest, ADetachedRunIsWrittenBeforeItRunsAndRemovedByItsResult) {
  start_journaled();
  auto w = worker(1);
  auto c = client();
  auto sent = run(c, cookie_n(1), true);
  ASSERT_EQ(entries().size(), 1u);
  EXPECT_TRUE(entries()[0].adds());
  EXPECT_EQ(entries()[0].id, cookie_n(1));
  EXPECT_TRUE(entries()[0].detach);
  EXPECT_EQ(entries()[0].run, sent);
  EXPECT_TRUE(w.inbox->empty()) << "ran before the journal confirmed it";
  EXPECT_EQ(status().journaled, 1u);
  commit();
  ASSERT_EQ(w.inbox->size(), 1u);
  EXPECT_EQ(w.inbox->at(0), sent);
  result(w, cookie_n(1));
  auto all = entries();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_FALSE(all[1].adds());
  EXPECT_EQ(all[1].id, cookie_n(1));
  EXPECT_TRUE(c.inbox->empty());
  EXPECT_EQ(status().journaled, 0u);
  EXPECT_EQ(status().routes, 0u);
}

TEST_F(SwitchboardJournalTest, ADetachedRunWaitsForAWorkerWithoutQueueLimitAndOutlivesItsClient) {
  start_journaled(); // queue-limit 0
  auto c = client();
  auto sent = run(c, cookie_n(2), true);
  commit();
  EXPECT_TRUE(c.inbox->empty()) << "a journaled detached RUN is taken, not NO_CAPACITY";
  EXPECT_EQ(status().queued, 1u);
  kill(c);
  EXPECT_EQ(status().queued, 1u);
  auto w = worker(1);
  ASSERT_EQ(w.inbox->size(), 1u);
  EXPECT_EQ(w.inbox->at(0), sent);
  result(w, cookie_n(2));
  EXPECT_EQ(status().journaled, 0u);
  EXPECT_EQ(status().routes, 0u);
}

TEST_F(SwitchboardJournalTest, AClientGoneBeforeTheWriteIsConfirmedLeavesItsDetachedRunToRun) {
  start_journaled();
  auto w = worker(1);
  auto c = client();
  auto sent = run(c, cookie_n(3), true);
  kill(c);
  commit();
  ASSERT_EQ(w.inbox->size(), 1u);
  EXPECT_EQ(w.inbox->at(0), sent);
}

TEST_F(SwitchboardJournalTest, AFailedWriteRefusesTheDetachedRunWithNoCapacity) {
  start_journaled();
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(4), true);
  commit(false, "database or disk is full");
  ASSERT_EQ(c.inbox->size(), 1u);
  EXPECT_TRUE(is_result(c.inbox->at(0), cookie_n(4), result_code::no_capacity,
                        "The journal could not keep this detached RUN (database or disk is "
                        "full); it was not run: send it again later or to another node"));
  EXPECT_TRUE(w.inbox->empty());
  EXPECT_EQ(status().routes, 0u);
  EXPECT_EQ(status().journaled, 0u);
  EXPECT_EQ(snapshot().traffic.journal_refused_failed, 1u);
  // Work that needs no journal goes on.
  auto sent = run(c, cookie_n(5));
  ASSERT_EQ(w.inbox->size(), 1u);
  EXPECT_EQ(w.inbox->at(0), sent);
}

TEST_F(SwitchboardJournalTest, AQueuedRunIsWrittenAndLeavesTheJournalAsItRuns) {
  switchboard_config config;
  config.queue_limit = 4;
  start_journaled(config);
  auto c = client();
  auto sent = run(c, cookie_n(6));
  ASSERT_EQ(entries().size(), 1u);
  EXPECT_TRUE(entries()[0].adds());
  EXPECT_FALSE(entries()[0].detach);
  auto w = worker(1);
  ASSERT_EQ(w.inbox->size(), 1u) << "a queued RUN does not wait for the write";
  EXPECT_EQ(w.inbox->at(0), sent);
  ASSERT_EQ(entries().size(), 2u);
  EXPECT_FALSE(entries()[1].adds());
  result(w, cookie_n(6));
  EXPECT_EQ(entries().size(), 2u);
  ASSERT_EQ(c.inbox->size(), 1u);
  EXPECT_EQ(status().journaled, 0u);
}

TEST_F(SwitchboardJournalTest, ARunThatFindsAFreeSlotIsNotWritten) {
  switchboard_config config;
  config.queue_limit = 4;
  start_journaled(config);
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(7));
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(w.inbox->size(), 1u);
}

TEST_F(SwitchboardJournalTest, AFullJournalRefusesRunsItWouldHaveToKeep) {
  switchboard_config config;
  config.queue_limit = 4;
  config.journal_max_runs = 1;
  start_journaled(config);
  auto c = client();
  run(c, cookie_n(8), true);
  run(c, cookie_n(9), true);
  run(c, cookie_n(10));
  ASSERT_EQ(c.inbox->size(), 2u);
  const char* full = "The journal is full (journal-max-runs 1): this node takes no more detached "
                     "or queued RUNs until some finish";
  EXPECT_TRUE(is_result(c.inbox->at(0), cookie_n(9), result_code::no_capacity, full));
  EXPECT_TRUE(is_result(c.inbox->at(1), cookie_n(10), result_code::no_capacity, full));
  EXPECT_EQ(snapshot().traffic.journal_refused_full, 2u);
}

TEST_F(SwitchboardJournalTest, ACancelBeforeTheWriteIsConfirmedEndsTheRunAndRemovesIt) {
  start_journaled();
  auto w = worker(1);
  auto c = client();
  run(c, cookie_n(11), true);
  cancel(c, cookie_n(11));
  commit();
  EXPECT_TRUE(w.inbox->empty());
  auto all = entries();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_FALSE(all[1].adds());
  EXPECT_EQ(status().routes, 0u);
}

TEST_F(SwitchboardJournalTest, ReplayedRunsRunForNoOneAndLeaveTheJournalWithTheirResult) {
  start_journaled();
  std::vector<journal::journal_entry> held{
      {cookie_n(12), run_frame(cookie_n(12), true), true, 0, -1},
      {cookie_n(13), run_frame(cookie_n(13)), false, 0, -1},
      {cookie_n(14), frame{"not a RUN"}, true, 0, -1}};
  caf::anon_send(sb_, replay_atom::value, held);
  sched_.run();
  EXPECT_EQ(status().queued, 2u);
  EXPECT_EQ(snapshot().traffic.journal_replays, 2u);
  EXPECT_TRUE(entries().empty()) << "replayed runs are in the journal already";
  auto c = client();
  run(c, cookie_n(12)); // its cookie is in use until it ends
  ASSERT_EQ(c.inbox->size(), 1u);
  EXPECT_TRUE(
      is_result(c.inbox->at(0), cookie_n(12), result_code::cookie_collision, "Already in use"));
  auto w = worker(2);
  ASSERT_EQ(w.inbox->size(), 2u);
  EXPECT_EQ(w.inbox->at(0), held[0].run);
  EXPECT_EQ(w.inbox->at(1), held[1].run);
  result(w, cookie_n(12));
  result(w, cookie_n(13));
  EXPECT_EQ(c.inbox->size(), 1u);
  EXPECT_EQ(entries().size(), 2u);
  EXPECT_EQ(status().routes, 0u);
  EXPECT_EQ(status().journaled, 0u);
  // Only the node replays, once, before any peer.
  caf::anon_send(sb_, replay_atom::value, held);
  sched_.run();
  EXPECT_EQ(status().routes, 0u);
}

TEST_F(SwitchboardJournalTest, ShutdownKeepsDetachedRunsAndRemovesAnsweredQueuedOnes) {
  switchboard_config config;
  config.queue_limit = 4;
  start_journaled(config);
  auto c = client();
  run(c, cookie_n(15), true);
  commit();
  run(c, cookie_n(16));
  ASSERT_EQ(entries().size(), 2u);
  shutdown();
  auto all = entries();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_FALSE(all[2].adds());
  EXPECT_EQ(all[2].id, cookie_n(16));
}

} // namespace
} // namespace rcbroker::actors::sbtest
