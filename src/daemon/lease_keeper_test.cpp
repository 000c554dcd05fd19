// The lease keeper on a manual clock and a scripted lease: when it may dispatch, when it has
// lost the lease, and that its deadline is counted from before each request.
#include "daemon/lease_keeper.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <functional>
#include <thread>

#include "workers/manual_clock_test_support.h"

namespace sgeventd::daemon {
namespace {

using namespace std::chrono_literals;
using state::LeaseGrant;
using state::StateErrorKind;

// Answers from a script; each request may take time on the test's clock (a slow database).
class ScriptedLease final : public state::LeaderLease {
 public:
  explicit ScriptedLease(workers::ManualClock& clock) : clock_(clock) {}
  const std::string& holder_id() const override { return holder_; }
  state::StateResult<std::optional<LeaseGrant>> try_acquire() override {
    clock_.advance(latency);
    if (!free) return std::optional<LeaseGrant>();
    return std::optional<LeaseGrant>(LeaseGrant{epoch, 10s});
  }
  state::StateResult<LeaseGrant> renew() override {
    ++renewals;
    clock_.advance(latency);
    if (!answers.empty()) {
      auto a = answers.front();
      answers.pop_front();
      if (a != StateErrorKind::kInternal) return state::state_error(a, "scripted");
    }
    return LeaseGrant{epoch, 10s};
  }
  state::StateResult<void> release() override {
    released = true;
    return {};
  }
  state::StateResult<std::optional<state::LeaseRow>> read() override {
    return std::optional<state::LeaseRow>();
  }

  bool free = true;
  std::int64_t epoch = 3;
  std::chrono::milliseconds latency{0};
  // kInternal: answer normally; anything else: fail with it.
  std::deque<StateErrorKind> answers;
  int renewals = 0;
  bool released = false;

 private:
  workers::ManualClock& clock_;
  std::string holder_ = "host:1:abc";
};

class LeaseKeeperTest : public ::testing::Test {
 protected:
  workers::ManualClock clock;
  ScriptedLease lease{clock};
  LeaseKeeper keeper{
      lease, 10s, clock,
      std::make_shared<spdlog::logger>("lease", std::make_shared<spdlog::sinks::null_sink_mt>())};
};

TEST_F(LeaseKeeperTest, AStandbyMayNotDispatchUntilItTakesTheLease) {
  lease.free = false;
  EXPECT_FALSE(keeper.try_take());
  EXPECT_FALSE(keeper.may_dispatch());
  EXPECT_EQ(keeper.snapshot().role, "standby");
  EXPECT_EQ(keeper.poll_every(), 1000ms);
  lease.free = true;
  ASSERT_TRUE(keeper.try_take());
  EXPECT_TRUE(keeper.may_dispatch());
  EXPECT_FALSE(keeper.lost());
  const auto s = keeper.snapshot();
  EXPECT_EQ(s.role, "leader");
  EXPECT_EQ(s.epoch, 3);
  EXPECT_EQ(s.holder, "host:1:abc");
}

TEST_F(LeaseKeeperTest, RenewalsComeEveryThirdOfTheLeaseAndExtendIt) {
  ASSERT_TRUE(keeper.try_take());
  clock.advance(3s);
  keeper.renew_once();
  EXPECT_EQ(lease.renewals, 0) << "not due before a third of the lease";
  clock.advance(334ms);
  keeper.renew_once();
  EXPECT_EQ(lease.renewals, 1);
  for (int i = 0; i < 30; ++i) {
    clock.advance(3334ms);
    keeper.renew_once();
  }
  EXPECT_EQ(lease.renewals, 31);
  EXPECT_TRUE(keeper.may_dispatch()) << "100 s on, renewed throughout";
}

TEST_F(LeaseKeeperTest, TheDeadlineCountsFromBeforeASlowRequest) {
  lease.latency = 4s;  // the grant arrives 4 s after it was asked for
  ASSERT_TRUE(keeper.try_take());
  // 10 s from the moment asked, less the margin (0.5 s): 5.5 s from now at most.
  EXPECT_LE(keeper.snapshot().remaining, 5500ms);
  EXPECT_GE(keeper.snapshot().remaining, 5000ms);
  clock.advance(5500ms);
  EXPECT_FALSE(keeper.may_dispatch());
  EXPECT_TRUE(keeper.lost());
}

TEST_F(LeaseKeeperTest, FailedRenewalsStopDispatchBeforeTheLeaseCanExpire) {
  ASSERT_TRUE(keeper.try_take());
  for (int i = 0; i < 200; ++i) lease.answers.push_back(StateErrorKind::kUnreachable);
  clock.advance(3334ms);
  keeper.renew_once();
  EXPECT_TRUE(keeper.may_dispatch()) << "one failed renewal: the lease still runs";
  // Retried every 0.5 s; the lease, unrenewed, runs out at 9.5 s on our clock.
  while (keeper.may_dispatch()) {
    clock.advance(100ms);
    keeper.renew_once();
  }
  EXPECT_TRUE(keeper.lost());
  EXPECT_NE(keeper.lost_reason().find("ran out"), std::string::npos);
  EXPECT_GE(lease.renewals, 10);
  EXPECT_LE(lease.renewals, 14);
}

TEST_F(LeaseKeeperTest, ADatabaseBackInTimeKeepsTheLease) {
  ASSERT_TRUE(keeper.try_take());
  lease.answers = {StateErrorKind::kUnreachable, StateErrorKind::kUnreachable,
                   StateErrorKind::kUnreachable};
  for (int i = 0; i < 100; ++i) {
    clock.advance(100ms);
    keeper.renew_once();
  }
  EXPECT_TRUE(keeper.may_dispatch()) << "a restart of the database the leader rides through";
  EXPECT_FALSE(keeper.lost());
}

TEST_F(LeaseKeeperTest, AFencedRenewalLosesTheLeaseAtOnce) {
  ASSERT_TRUE(keeper.try_take());
  lease.answers = {StateErrorKind::kFenced};
  clock.advance(3334ms);
  keeper.renew_once();
  EXPECT_FALSE(keeper.may_dispatch());
  EXPECT_TRUE(keeper.lost());
  EXPECT_EQ(keeper.lost_reason(), "scripted");
  keeper.release();
  EXPECT_FALSE(lease.released) << "nothing to give up: it is another daemon's";
}

TEST_F(LeaseKeeperTest, APauseLongerThanTheLeaseIsNoticedBeforeTheNextDispatch) {
  ASSERT_TRUE(keeper.try_take());
  clock.advance(12s);  // SIGSTOP, then SIGCONT: no renewal ran meanwhile
  EXPECT_FALSE(keeper.may_dispatch());
  EXPECT_TRUE(keeper.lost());
}

TEST_F(LeaseKeeperTest, AReleaseGivesTheLeaseUp) {
  ASSERT_TRUE(keeper.try_take());
  keeper.release();
  EXPECT_TRUE(lease.released);
  EXPECT_FALSE(keeper.may_dispatch());
}

// The renewing thread on the real clock: it renews while held, and stops once fenced.
class ThreadedLease final : public state::LeaderLease {
 public:
  const std::string& holder_id() const override { return holder_; }
  state::StateResult<std::optional<LeaseGrant>> try_acquire() override {
    return std::optional<LeaseGrant>(LeaseGrant{1, 600ms});
  }
  state::StateResult<LeaseGrant> renew() override {
    ++renewals;
    if (fenced) return state::state_error(StateErrorKind::kFenced, "taken");
    return LeaseGrant{1, 600ms};
  }
  state::StateResult<void> release() override { return {}; }
  state::StateResult<std::optional<state::LeaseRow>> read() override {
    return std::optional<state::LeaseRow>();
  }
  std::atomic<int> renewals{0};
  std::atomic<bool> fenced{false};

 private:
  std::string holder_ = "host:2:def";
};

bool eventually(const std::function<bool()>& condition) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TEST(LeaseKeeperThread, RenewsWhileHeldAndStopsOnceFenced) {
  ThreadedLease lease;
  LeaseKeeper keeper(
      lease, 600ms, Clock::real(),
      std::make_shared<spdlog::logger>("lease", std::make_shared<spdlog::sinks::null_sink_mt>()));
  ASSERT_TRUE(keeper.try_take());
  keeper.start_renewing();
  ASSERT_TRUE(eventually([&] { return lease.renewals >= 5; })) << "renewed every 200 ms";
  EXPECT_TRUE(keeper.may_dispatch()) << "over three lease lengths, kept by the renewals";
  lease.fenced = true;
  ASSERT_TRUE(eventually([&] { return keeper.lost(); }));
  EXPECT_FALSE(keeper.may_dispatch());
  EXPECT_EQ(keeper.lost_reason(), "taken");
  keeper.stop_renewing();
  const int after = lease.renewals;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(lease.renewals, after) << "no renewal once lost";
}

}  // namespace
}  // namespace sgeventd::daemon
