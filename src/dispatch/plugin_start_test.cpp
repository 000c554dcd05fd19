#include "dispatch/plugin_start.h"

#include <gtest/gtest.h>

#include "state/sqlite_state_store.h"
#include "state/state_test_support.h"

namespace sgeventd::dispatch {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

const state::PluginKey kKey{"/srv/plugins/notify.py", "notify"};
const state::WallTime kNow{std::chrono::milliseconds(1'700'000'000'000)};

// Every read fails, as a store whose disk went away would.
class UnreadableStore final : public state::StateStore {
 public:
  state::StateResult<void> commit(const state::StateBatch&) override { return fail(); }
  state::StateResult<void> checkpoint() override { return fail(); }
  state::StateResult<std::vector<state::PluginState>> plugins() override { return fail(); }
  state::StateResult<std::optional<state::PluginState>> plugin(const state::PluginKey&) override {
    return fail();
  }
  state::StateResult<std::vector<state::LegacyDefault>> legacy_defaults() override {
    return fail();
  }
  state::StateResult<std::vector<state::DeadLetter>> dead_letters(
      const state::DeadLetterQuery&) override {
    return fail();
  }
  state::StateResult<std::optional<state::DeadLetter>> dead_letter(std::int64_t) override {
    return fail();
  }
  state::StateResult<bool> delete_dead_letter(std::int64_t) override { return fail(); }
  state::StateResult<bool> mark_dead_letter_retried(std::int64_t, state::WallTime) override {
    return fail();
  }

 private:
  static tl::unexpected<state::StateError> fail() {
    return state::state_error(state::StateErrorKind::kInternal, "disk I/O error");
  }
};

class PluginStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = state::SqliteStateStore::open(dir_.file("state.sqlite"));
    ASSERT_TRUE(s) << s.error().describe();
    store_ = std::move(*s);
  }
  void commit(const state::StateBatch& b) {
    auto r = store_->commit(b);
    ASSERT_TRUE(r) << r.error().describe();
  }

  state::testing::TempDir dir_;
  std::unique_ptr<state::SqliteStateStore> store_;
};

TEST_F(PluginStartTest, ANewPluginStartsAtTheNewestEventAndOwnsItFromThen) {
  auto d = decide_start(*store_, kKey, 500, kNow, 300s);
  ASSERT_TRUE(d) << d.error().describe();
  EXPECT_EQ(d->start.cursor, 500);
  EXPECT_FALSE(d->start.own_state);
  EXPECT_FALSE(d->note.empty());
  commit(d->writes);
  auto again = decide_start(*store_, kKey, 900, kNow, 300s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->start.cursor, 500) << "its own cursor now, not the newest event";
  EXPECT_TRUE(again->start.own_state);
  EXPECT_TRUE(again->writes.empty());
}

TEST_F(PluginStartTest, AKnownPluginResumesWithItsGaps) {
  state::StateBatch b;
  b.set_cursor(kKey, 120);
  b.add_gap(kKey, {100, 104, kNow - 10s, kNow + 290s});
  commit(b);
  auto d = decide_start(*store_, kKey, 900, kNow, 300s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->start.cursor, 120);
  ASSERT_EQ(d->start.gaps.size(), 1u);
  EXPECT_EQ(d->start.gaps[0].first_seen, kNow - 10s) << "a gap keeps its first sighting";
  EXPECT_TRUE(d->start.own_state);
  EXPECT_TRUE(d->note.empty());
}

TEST_F(PluginStartTest, ADeactivatedPluginComesBackAndWaitsForItsGapsFromNow) {
  state::StateBatch b;
  b.set_cursor(kKey, 120);
  b.set_status(kKey, {state::Activity::kDeactivated, "callback failed", kNow - 1h});
  b.add_gap(kKey, {100, 104, kNow - 1h, kNow - 55min});
  commit(b);
  auto d = decide_start(*store_, kKey, 900, kNow, 300s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->start.cursor, 120);
  ASSERT_EQ(d->start.gaps.size(), 1u);
  EXPECT_EQ(d->start.gaps[0].first_seen, kNow);
  EXPECT_EQ(d->start.gaps[0].expiry, kNow + 300s);
  commit(d->writes);
  auto p = store_->plugin(kKey);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->status.activity, state::Activity::kActive);
  ASSERT_EQ((*p)->gaps.size(), 1u);
  EXPECT_EQ((*p)->gaps[0].first_seen, kNow) << "the state says the same as memory";
}

TEST_F(PluginStartTest, ADisabledPluginStaysDisabledWithItsCursorAndGaps) {
  state::StateBatch b;
  b.set_cursor(kKey, 120);
  b.set_status(kKey, {state::Activity::kDisabled, "disabled by an operator", kNow - 1h});
  b.add_gap(kKey, {100, 104, kNow - 1h, kNow - 55min});
  commit(b);
  auto d = decide_start(*store_, kKey, 900, kNow, 300s);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->start.disabled);
  EXPECT_EQ(d->start.disabled_reason, "disabled by an operator");
  EXPECT_EQ(d->start.cursor, 120);
  EXPECT_EQ(d->start.gaps.size(), 1u);
  EXPECT_TRUE(d->writes.empty()) << "nothing changes in the state";
  EXPECT_NE(d->note.find("sgeventd enable"), std::string::npos) << d->note;
}

TEST_F(PluginStartTest, AStateThatCannotBeReadIsAnErrorNeverAStartAtTheNewestEvent) {
  UnreadableStore broken;
  auto d = decide_start(broken, kKey, 900, kNow, 300s);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().describe().find("disk I/O error"), std::string::npos);
}

}  // namespace
}  // namespace sgeventd::dispatch
