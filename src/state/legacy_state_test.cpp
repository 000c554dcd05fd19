// The shotgunEvents state importer, fed pickles written by a real Python 3 at test time.
#include "state/legacy_state.h"

#include <gtest/gtest.h>

#include <random>

#include "sgeventd/value.h"
#include "state/sqlite_state_store.h"
#include "state/start_state.h"
#include "state/state_test_support.h"

namespace sgeventd::state {
namespace {

using testing::exists;
using testing::read_file;
using testing::run_python;
using testing::TempDir;
using testing::write_file;
using namespace std::chrono_literals;
using namespace std::string_literals;

// The state shotgunEvents would have written: a folder with full tuples, a plugin that never
// had a state, a plugin whose value is a bare int, a whole folder as a bare int, an id beyond
// 32 bits.
constexpr const char* kWriteState = R"py(
import datetime, pickle, sys
path, protocol = sys.argv[1].rsplit(":", 1)
expiry = datetime.datetime(2024, 3, 4, 5, 6, 7, 890123)
data = {
    "/plugins": {
        "a": (1000, {995: expiry, 996: expiry, 998: datetime.datetime(2024, 3, 4, 5, 6, 30)}),
        "b": (1200, {}),
        "never": (None, {}),
        "bare": 777,
    },
    "/old/plugins/": 555,
    "/big": {"big": (2**40 + 5, {})},
}
with open(path, "wb") as fh:
    pickle.dump(data, fh, protocol=int(protocol))
)py";

std::string python_state(const TempDir& dir, int protocol) {
  const std::string path = dir.file("state-p" + std::to_string(protocol) + ".id");
  EXPECT_EQ(run_python(kWriteState, path + ":" + std::to_string(protocol)), 0);
  return path;
}

WallTime local(int y, int mo, int d, int h, int mi, int s, int us) {
  auto dt = DateTime::from_local(y, mo, d, h, mi, s);
  EXPECT_TRUE(dt);
  return std::chrono::time_point_cast<std::chrono::milliseconds>(dt->utc) +
         std::chrono::milliseconds(us / 1000);
}

const LegacyCollection* find_collection(const LegacyState& s, const std::string& path) {
  for (const auto& c : s.collections) {
    if (c.path == path) return &c;
  }
  return nullptr;
}

const LegacyPlugin* find_plugin(const LegacyCollection& c, const std::string& name) {
  for (const auto& p : c.plugins) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

class PythonPickle : public ::testing::TestWithParam<int> {};

TEST_P(PythonPickle, IsReadAsWritten) {
  TempDir dir;
  auto state = read_legacy_state_file(python_state(dir, GetParam()));
  ASSERT_TRUE(state) << state.error().describe();
  EXPECT_EQ(state->format, LegacyState::Format::kPickle);
  EXPECT_EQ(state->pickle_protocol, GetParam());
  ASSERT_EQ(state->collections.size(), 3u);

  const LegacyCollection* plugins = find_collection(*state, "/plugins");
  ASSERT_TRUE(plugins);
  EXPECT_FALSE(plugins->bare_last_event_id);
  ASSERT_EQ(plugins->plugins.size(), 4u);
  const LegacyPlugin* a = find_plugin(*plugins, "a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->last_event_id, 1000);
  ASSERT_EQ(a->backlog.size(), 3u);
  EXPECT_EQ(a->backlog[0].id, 995);
  EXPECT_EQ(a->backlog[0].expiry, (pickle::NaiveDateTime{2024, 3, 4, 5, 6, 7, 890123}));
  EXPECT_EQ(a->backlog[2].id, 998);
  EXPECT_EQ(a->backlog[2].expiry, (pickle::NaiveDateTime{2024, 3, 4, 5, 6, 30, 0}));
  EXPECT_EQ(find_plugin(*plugins, "b")->last_event_id, 1200);
  EXPECT_EQ(find_plugin(*plugins, "never")->last_event_id, std::nullopt);
  EXPECT_EQ(find_plugin(*plugins, "bare")->last_event_id, 777);

  const LegacyCollection* old = find_collection(*state, "/old/plugins/");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->bare_last_event_id, 555);
  const LegacyCollection* big = find_collection(*state, "/big");
  ASSERT_TRUE(big);
  EXPECT_EQ(find_plugin(*big, "big")->last_event_id, (std::int64_t{1} << 40) + 5);
}

TEST_P(PythonPickle, IsImportedWhenTheDaemonFirstOpensIt) {
  TempDir dir;
  const std::string path = dir.file("shotgunEventDaemon.id");
  write_file(path, read_file(python_state(dir, GetParam())));
  const std::string pickle_bytes = read_file(path);

  auto store = SqliteStateStore::open(path);
  ASSERT_TRUE(store) << store.error().describe();
  ASSERT_TRUE((*store)->legacy_import());
  EXPECT_EQ((*store)->legacy_import()->plugins, 5u);
  EXPECT_EQ((*store)->legacy_import()->gaps, 2u);
  EXPECT_EQ((*store)->legacy_import()->folder_defaults, 1u);
  EXPECT_EQ(read_file(path + ".legacy"), pickle_bytes);

  auto a = (*store)->plugin({"/plugins/a.py", "a"});
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->cursor, 1000);
  const WallTime expiry = local(2024, 3, 4, 5, 6, 7, 890123);
  const WallTime expiry2 = local(2024, 3, 4, 5, 6, 30, 0);
  EXPECT_EQ((*a)->gaps, (std::vector<Gap>{{995, 996, expiry - 5min, expiry},
                                          {998, 998, expiry2 - 5min, expiry2}}));
  EXPECT_EQ((*(*store)->plugin({"/plugins/never.py", "never"}))->cursor, std::nullopt);
  EXPECT_EQ((*(*store)->plugin({"/plugins/bare.py", "bare"}))->cursor, 777);
  EXPECT_EQ((*(*store)->plugin({"/big/big.py", "big"}))->cursor, (std::int64_t{1} << 40) + 5);
  EXPECT_EQ(*(*store)->legacy_defaults(), (std::vector<LegacyDefault>{{"/old/plugins", 555}}));

  // Opened again: the state is sgeventd's now; nothing is imported twice.
  store->reset();
  auto again = SqliteStateStore::open(path);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_FALSE((*again)->legacy_import());
  EXPECT_EQ((*(*again)->plugin({"/plugins/a.py", "a"}))->cursor, 1000);
}

INSTANTIATE_TEST_SUITE_P(Protocols, PythonPickle, ::testing::Values(2, 3, 4, 5));

TEST(LegacyState, StartStatesFollowTheOriginalsRules) {
  TempDir dir;
  const std::string path = dir.file("state.id");
  write_file(path, read_file(python_state(dir, 5)));
  auto store = SqliteStateStore::open(path);
  ASSERT_TRUE(store) << store.error().describe();
  StateStore& s = **store;

  auto own = resolve_start_state(s, {"/plugins/a.py", "a"});
  ASSERT_TRUE(own);
  EXPECT_EQ(own->source, StartState::Source::kOwn);
  EXPECT_EQ(own->cursor, 1000);
  EXPECT_EQ(own->gaps.size(), 2u);

  // A plugin of a folder whose whole value was an int.
  auto folder = resolve_start_state(s, {"/old/plugins/new.py", "new"});
  ASSERT_TRUE(folder);
  EXPECT_EQ(folder->source, StartState::Source::kLegacyFolder);
  EXPECT_EQ(folder->cursor, 555);

  // The plugin folder moved: the same name elsewhere, its highest state, gaps included.
  ASSERT_TRUE(s.commit(StateBatch().set_cursor({"/elsewhere/a.py", "a"}, 900)));
  auto moved = resolve_start_state(s, {"/moved/a.py", "a"});
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->source, StartState::Source::kSameName);
  EXPECT_EQ(moved->cursor, 1000);
  EXPECT_EQ(moved->from, "/plugins/a.py");
  EXPECT_EQ(moved->gaps.size(), 2u);

  // "never" has a row but no cursor: it is not a state to inherit, nor its own.
  auto never = resolve_start_state(s, {"/plugins/never.py", "never"});
  ASSERT_TRUE(never);
  EXPECT_EQ(never->source, StartState::Source::kNone);

  // Once the daemon has placed its plugins, the legacy defaults go.
  ASSERT_TRUE(s.commit(StateBatch().drop_legacy_defaults()));
  auto after = resolve_start_state(s, {"/old/plugins/later.py", "later"});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->source, StartState::Source::kNone);
}

TEST(LegacyState, TheTextFormatGivesEveryPluginItsId) {
  TempDir dir;
  const std::string path = dir.file("state.id");
  write_file(path, "  123456 \nanything after the first line\n");
  auto store = SqliteStateStore::open(path);
  ASSERT_TRUE(store) << store.error().describe();
  ASSERT_TRUE((*store)->legacy_import());
  EXPECT_TRUE((*store)->legacy_import()->global_default);
  EXPECT_EQ(read_file(path + ".legacy"), "  123456 \nanything after the first line\n");
  auto start = resolve_start_state(**store, {"/any/where.py", "where"});
  ASSERT_TRUE(start);
  EXPECT_EQ(start->source, StartState::Source::kLegacyGlobal);
  EXPECT_EQ(start->cursor, 123456);
}

TEST(LegacyState, PluginKeysCanBeChosenByTheCaller) {
  TempDir dir;
  auto state = read_legacy_state_file(python_state(dir, 4));
  ASSERT_TRUE(state);
  auto store = SqliteStateStore::open(dir.file("fresh.db"));
  ASSERT_TRUE(store);
  LegacyImportOptions options;
  options.key_for = [](const std::string& folder, const std::string& name) {
    return PluginKey{normalize_folder(folder) + "/" + name + ".plugin", name};
  };
  auto summary = import_legacy_state(**store, *state, options);
  ASSERT_TRUE(summary) << summary.error().describe();
  EXPECT_EQ((*(*store)->plugin({"/plugins/b.plugin", "b"}))->cursor, 1200);
}

TEST(LegacyState, DefaultKeysJoinFolderAndName) {
  EXPECT_EQ(default_legacy_key("/p", "x"), (PluginKey{"/p/x.py", "x"}));
  EXPECT_EQ(default_legacy_key("/p//", "x"), (PluginKey{"/p/x.py", "x"}));
  EXPECT_EQ(default_legacy_key("/", "x"), (PluginKey{"/x.py", "x"}));
  EXPECT_EQ(normalize_folder("/a/b/"), "/a/b");
}

// --- files that must be refused, clearly, and left as they are ---

constexpr const char* kWriteMalicious = R"py(
import os, pickle, sys
path, marker = sys.argv[1].split(":")
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + marker,))
with open(path, "wb") as fh:
    pickle.dump({"/plugins": {"a": (1, {}), "evil": Evil()}}, fh, protocol=4)
)py";

TEST(LegacyState, AGlobalOtherThanDatetimeIsRefusedNotRun) {
  TempDir dir;
  const std::string path = dir.file("state.id");
  const std::string marker = dir.file("pwned");
  ASSERT_EQ(run_python(kWriteMalicious, path + ":" + marker), 0);
  const std::string bytes = read_file(path);

  auto parsed = parse_legacy_state(bytes);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().kind, StateErrorKind::kLegacyFormat);
  EXPECT_NE(parsed.error().message.find("refusing global posix.system"), std::string::npos)
      << parsed.error().message;

  auto store = SqliteStateStore::open(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, StateErrorKind::kLegacyFormat);
  EXPECT_FALSE(exists(marker));
  EXPECT_FALSE(exists(path + ".legacy"));
  EXPECT_EQ(read_file(path), bytes);
}

TEST(LegacyState, EveryTruncationIsAnErrorNeverACrash) {
  TempDir dir;
  const std::string bytes = read_file(python_state(dir, 4));
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto parsed = parse_legacy_state(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(parsed) << "prefix of " << n << " bytes";
    EXPECT_EQ(parsed.error().kind, StateErrorKind::kLegacyFormat);
  }
}

// What shotgunEvents leaves when killed while rewriting its state in place (upstream #38): the
// head of a pickle. It never started again; we stop with a message that says why.
TEST(LegacyState, AStateTruncatedByTheOriginalIsAClearStartupError) {
  TempDir dir;
  const std::string path = dir.file("shotgunEventDaemon.id");
  const std::string bytes = read_file(python_state(dir, 5));
  write_file(path, bytes.substr(0, bytes.size() / 2));
  auto store = SqliteStateStore::open(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, StateErrorKind::kLegacyFormat);
  EXPECT_NE(store.error().message.find("truncated"), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find("left untouched"), std::string::npos);
  EXPECT_EQ(read_file(path), bytes.substr(0, bytes.size() / 2));
}

TEST(LegacyState, RandomDamageIsAnErrorNeverACrash) {
  TempDir dir;
  const std::string good = read_file(python_state(dir, 2));
  std::mt19937 rng(4242);
  for (int round = 0; round < 3000; ++round) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) {
      bytes[2 + rng() % (bytes.size() - 2)] = static_cast<char>(rng());
    }
    (void)parse_legacy_state(bytes);  // any result but a crash or a hang
  }
  for (int round = 0; round < 1000; ++round) {
    std::string bytes = "\x80\x04";
    const std::size_t n = rng() % 64;
    for (std::size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(rng()));
    (void)parse_legacy_state(bytes);
  }
}

TEST(LegacyState, ShapesThatAreNotAStateAreRefused) {
  TempDir dir;
  constexpr const char* kWrite = R"py(
import pickle, sys
path, which = sys.argv[1].split(":")
data = {"list": [1, 2], "float": {"/p": {"a": 1.5}}, "tz": None,
        "negative": {"/p": {"a": -5}}, "negative_tuple": {"/p": {"a": (-5, {})}},
        "negative_gap": None}[which]
if which == "tz":
    import datetime
    data = {"/p": {"a": (1, {2: datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)})}}
if which == "negative_gap":
    import datetime
    data = {"/p": {"a": (10, {-3: datetime.datetime(2024, 1, 1)})}}
with open(path, "wb") as fh:
    pickle.dump(data, fh, protocol=4)
)py";
  for (const char* which : {"list", "float", "tz", "negative", "negative_tuple", "negative_gap"}) {
    const std::string path = dir.file(which);
    ASSERT_EQ(run_python(kWrite, path + ":" + which), 0);
    auto parsed = read_legacy_state_file(path);
    ASSERT_FALSE(parsed) << which;
    EXPECT_EQ(parsed.error().kind, StateErrorKind::kLegacyFormat);
  }
}

// Python 2's pickle of the same structure, as shotgunEvents under Python 2 wrote it: str keys
// as SHORT_BINSTRING and the datetime state as a byte string (no Python 2 to run here, so the
// bytes are spelled out, as pickletools shows them).
TEST(LegacyState, APython2PickleIsRead) {
  std::string p =
      "\x80\x02}q\x00U\x08/pluginsq\x01}q\x02U\x01"
      "aq\x03"s;
  p += "M\xe8\x03";    // BININT2 1000
  p += "}q\x04K\x05";  // backlog {5: ...}
  p += "cdatetime\ndatetime\nq\x05U\x0a";
  p += std::string("\x07\xe8\x03\x04\x05\x06\x07\x0d\x95\x0b", 10);  // 2024-03-04 05:06:07.890123
  p += "q\x06\x85q\x07Rq\x08s\x86q\x09ss.";
  auto state = parse_legacy_state(p);
  ASSERT_TRUE(state) << state.error().describe();
  ASSERT_EQ(state->collections.size(), 1u);
  const LegacyPlugin* a = find_plugin(state->collections[0], "a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->last_event_id, 1000);
  ASSERT_EQ(a->backlog.size(), 1u);
  EXPECT_EQ(a->backlog[0].id, 5);
  EXPECT_EQ(a->backlog[0].expiry, (pickle::NaiveDateTime{2024, 3, 4, 5, 6, 7, 890123}));
}

TEST(LegacyState, TextThatIsNotAnIdIsRefused) {
  for (const char* text : {"", "\n", "12a\n", "-5\n", "99999999999999999999999\n"}) {
    auto parsed = parse_legacy_state(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().kind, StateErrorKind::kLegacyFormat);
  }
}

}  // namespace
}  // namespace sgeventd::state
