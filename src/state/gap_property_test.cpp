// Property: whatever sequence of gap additions and removals a batch carries, the store holds
// exactly the ids a simple model holds, each with the sighting of its first addition, in
// sorted, non-overlapping ranges.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>

#include "state/sqlite_state_store.h"
#include "state/state_test_support.h"

namespace sgeventd::state {
namespace {

struct GapOp {
  bool add = true;
  EventId first = 0;
  EventId length = 0;
};

}  // namespace
}  // namespace sgeventd::state

namespace rc {
template <>
struct Arbitrary<sgeventd::state::GapOp> {
  static Gen<sgeventd::state::GapOp> arbitrary() {
    return gen::build<sgeventd::state::GapOp>(
        gen::set(&sgeventd::state::GapOp::add, gen::arbitrary<bool>()),
        gen::set(&sgeventd::state::GapOp::first, gen::inRange<std::int64_t>(0, 60)),
        gen::set(&sgeventd::state::GapOp::length, gen::inRange<std::int64_t>(0, 12)));
  }
};
}  // namespace rc

namespace sgeventd::state {
namespace {

// One store for every run (creating one costs a few fsyncs); each run uses its own plugin.
SqliteStateStore& shared_store() {
  static testing::TempDir dir;
  static std::unique_ptr<SqliteStateStore> store = [] {
    auto s = SqliteStateStore::open(dir.file("state.db"));
    return s ? std::move(*s) : nullptr;
  }();
  return *store;
}

RC_GTEST_PROP(GapProperty, StoreMatchesAModelOfIds,
              (const std::vector<GapOp>& ops, bool one_batch)) {
  static int run = 0;
  const PluginKey key{"/p/run" + std::to_string(++run) + ".py", "run"};
  SqliteStateStore& store = shared_store();

  std::map<EventId, WallTime> model;  // id -> first seen
  StateBatch batch;
  std::int64_t tick = 0;
  for (const GapOp& op : ops) {
    const WallTime seen = WallTime(std::chrono::milliseconds(++tick));
    const EventId last = op.first + op.length;
    if (op.add) {
      batch.add_gap(key, Gap{op.first, last, seen, seen + std::chrono::minutes(5)});
      for (EventId id = op.first; id <= last; ++id) model.emplace(id, seen);
    } else {
      batch.remove_gap_ids(key, op.first, last);
      for (EventId id = op.first; id <= last; ++id) model.erase(id);
    }
    if (!one_batch) {
      RC_ASSERT(static_cast<bool>(store.commit(batch)));
      batch.clear();
    }
  }
  batch.advance_cursor(key, 1);  // the plugin has a row even when no op named it
  RC_ASSERT(static_cast<bool>(store.commit(batch)));

  auto state = store.plugin(key);
  RC_ASSERT(state && *state);
  std::map<EventId, WallTime> stored;
  EventId previous_last = -1;
  for (const Gap& g : (*state)->gaps) {
    RC_ASSERT(g.first_id <= g.last_id);
    RC_ASSERT(g.first_id > previous_last);
    previous_last = g.last_id;
    RC_ASSERT(g.expiry == g.first_seen + std::chrono::minutes(5));
    for (EventId id = g.first_id; id <= g.last_id; ++id) stored.emplace(id, g.first_seen);
  }
  RC_ASSERT(stored == model);
}

}  // namespace
}  // namespace sgeventd::state
