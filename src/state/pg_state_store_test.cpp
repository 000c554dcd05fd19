// What the PostgreSQL store does beyond the StateStore contract (state_store_contract_test.cpp):
// the leader lease and its fencing, states of several names in one database, a lost connection,
// an unreachable database, missing rights and a newer schema. Against the tests' real server.
#include <gtest/gtest.h>

#include <thread>

#include "state/pg_db.h"
#include "state/pg_state_store.h"
#include "state/pg_test_support.h"
#include "state/state_test_support.h"

namespace sgeventd::state {
namespace {

using namespace std::chrono_literals;
using testing::cursor_of;
using testing::kA;
using testing::kB;
using testing::kT0;

PgStateOptions options_for(const std::string& name, std::chrono::milliseconds lease = 10s) {
  PgStateOptions o;
  o.url = testing::test_database_url();
  o.name = name;
  o.lease = lease;
  return o;
}

std::unique_ptr<PgStateStore> open_store(const PgStateOptions& o) {
  auto s = PgStateStore::open(o);
  EXPECT_TRUE(s) << (s ? "" : s.error().describe());
  return s ? std::move(*s) : nullptr;
}

std::unique_ptr<pg::Connection> admin() {
  auto c = pg::Connection::open({testing::test_database_url()});
  EXPECT_TRUE(c) << (c ? "" : c.error().describe());
  return c ? std::move(*c) : nullptr;
}

std::optional<LeaseGrant> acquire(PgStateStore& s) {
  auto g = s.leader_lease()->try_acquire();
  EXPECT_TRUE(g) << (g ? "" : g.error().describe());
  return g ? *g : std::nullopt;
}

TEST(PgStateStore, OneDaemonHoldsTheLeaseAndOnlyItWrites) {
  const std::string name = testing::unique_state_name("lease");
  auto a = open_store(options_for(name));
  auto b = open_store(options_for(name));
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->leader_lease()->holder_id(), b->leader_lease()->holder_id());

  auto before = b->commit(StateBatch().advance_cursor(kA, 5));
  ASSERT_FALSE(before) << "a daemon without the lease must not write";
  EXPECT_EQ(before.error().kind, StateErrorKind::kFenced);

  auto grant = acquire(*a);
  ASSERT_TRUE(grant);
  EXPECT_EQ(grant->epoch, 1);
  EXPECT_GT(grant->valid_for, 9s);
  EXPECT_FALSE(acquire(*b)) << "the lease is held and not expired";
  ASSERT_TRUE(a->commit(StateBatch().advance_cursor(kA, 5)));
  auto fenced = b->commit(StateBatch().advance_cursor(kA, 9));
  ASSERT_FALSE(fenced);
  EXPECT_EQ(fenced.error().kind, StateErrorKind::kFenced);
  EXPECT_EQ(cursor_of(*b, kA), 5) << "the standby reads what the leader wrote";

  // Acquiring what one holds renews it and keeps the epoch.
  auto again = acquire(*a);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->epoch, 1);
  auto row = b->leader_lease()->read();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->holder, a->leader_lease()->holder_id());
  EXPECT_EQ((*row)->epoch, 1);
  EXPECT_GT((*row)->expires_in, 8s);
}

TEST(PgStateStore, AnExpiredLeaseIsTakenWithANewEpochAndTheOldHolderIsFenced) {
  const std::string name = testing::unique_state_name("takeover");
  auto a = open_store(options_for(name, 1s));
  auto b = open_store(options_for(name, 1s));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(acquire(*a));
  ASSERT_TRUE(a->commit(StateBatch().advance_cursor(kA, 10)));

  // a stops renewing (paused, partitioned): b gets the lease once it expires, not before.
  const auto start = std::chrono::steady_clock::now();
  std::optional<LeaseGrant> taken;
  while (!taken && std::chrono::steady_clock::now() - start < 5s) {
    taken = acquire(*b);
    if (!taken) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(taken) << "the expired lease was never taken";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
  EXPECT_EQ(taken->epoch, 2);
  ASSERT_TRUE(b->commit(StateBatch().advance_cursor(kA, 20)));

  // The old holder, resuming, can neither write nor renew, and learns it lost the lease.
  auto late = a->commit(StateBatch().advance_cursor(kA, 99).advance_cursor(kB, 99));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().kind, StateErrorKind::kFenced);
  EXPECT_EQ(cursor_of(*b, kA), 20);
  EXPECT_FALSE(*b->plugin(kB)) << "nothing of the fenced batch was written";
  auto renewed = a->leader_lease()->renew();
  ASSERT_FALSE(renewed);
  EXPECT_EQ(renewed.error().kind, StateErrorKind::kFenced);
  EXPECT_FALSE(acquire(*a)) << "b holds it now";
}

TEST(PgStateStore, RenewalsKeepTheLeaseAndAReleaseHandsItOverAtOnce) {
  const std::string name = testing::unique_state_name("renew");
  auto a = open_store(options_for(name, 1s));
  auto b = open_store(options_for(name, 1s));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(acquire(*a));
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  while (std::chrono::steady_clock::now() < until) {
    auto r = a->leader_lease()->renew();
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->epoch, 1);
    EXPECT_FALSE(acquire(*b)) << "a renews every 300 ms: its lease never lapses";
    std::this_thread::sleep_for(300ms);
  }
  ASSERT_TRUE(a->leader_lease()->release());
  auto taken = acquire(*b);
  ASSERT_TRUE(taken) << "a released lease is free at once";
  EXPECT_EQ(taken->epoch, 2);
  EXPECT_EQ(a->commit(StateBatch().advance_cursor(kA, 1)).error().kind, StateErrorKind::kFenced);
}

TEST(PgStateStore, StatesOfOtherNamesInTheSameDatabaseAreApart) {
  auto x = open_store(options_for(testing::unique_state_name("site-x")));
  auto y = open_store(options_for(testing::unique_state_name("site-y")));
  ASSERT_TRUE(x && y);
  ASSERT_TRUE(acquire(*x));
  ASSERT_TRUE(acquire(*y)) << "each name has its own lease";
  ASSERT_TRUE(
      x->commit(StateBatch().advance_cursor(kA, 7).set_legacy_default({"", 3}).park_dead_letter(
          testing::dead_letter(kA, "cb", 7, 1, kT0))));
  ASSERT_TRUE(y->commit(StateBatch().advance_cursor(kA, 100)));
  EXPECT_EQ(cursor_of(*x, kA), 7);
  EXPECT_EQ(cursor_of(*y, kA), 100);
  EXPECT_EQ(x->plugins()->size(), 1u);
  EXPECT_TRUE(y->legacy_defaults()->empty());
  EXPECT_TRUE(y->dead_letters({})->empty());
  const auto letter = (*x->dead_letters({}))[0].id;
  EXPECT_FALSE(*y->dead_letter(letter)) << "another state's letter is not found by id";
  EXPECT_FALSE(*y->delete_dead_letter(letter));
  EXPECT_TRUE(*x->dead_letter(letter));
  EXPECT_TRUE(*x->has_rows());
  ASSERT_TRUE(x->replace(StateBatch().advance_cursor(kB, 3)));
  EXPECT_EQ(x->plugins()->size(), 1u) << "replaced: only what the batch holds";
  EXPECT_EQ(cursor_of(*x, kB), 3);
  EXPECT_TRUE(x->dead_letters({})->empty());
  EXPECT_TRUE(x->legacy_defaults()->empty());
  auto bad = x->replace(StateBatch().add_gap(kA, Gap{9, 1, kT0, kT0}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(cursor_of(*x, kB), 3) << "a failed replace leaves the state as it was";
  EXPECT_EQ(cursor_of(*y, kA), 100);
}

TEST(PgStateStore, ALostConnectionFailsOneCallAndTheNextReconnects) {
  auto a = open_store(options_for(testing::unique_state_name("reconnect")));
  ASSERT_TRUE(a);
  ASSERT_TRUE(acquire(*a));
  ASSERT_TRUE(a->commit(StateBatch().advance_cursor(kA, 1)));
  auto db = admin();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("SELECT pg_terminate_backend(" + std::to_string(a->backend_pid()) + ")"));

  auto lost = a->commit(StateBatch().advance_cursor(kA, 2));
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().kind, StateErrorKind::kUnreachable) << lost.error().describe();
  ASSERT_TRUE(a->commit(StateBatch().advance_cursor(kA, 3)));
  EXPECT_EQ(cursor_of(*a, kA), 3);
}

TEST(PgStateStore, AnUnreachableDatabaseIsAClearErrorWithoutThePassword) {
  testing::TempDir dir;
  PgStateOptions o = options_for("x");
  o.url = "postgresql://sgeventd:s3cret@/postgres?host=" + dir.path() + "&connect_timeout=2";
  auto s = PgStateStore::open(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, StateErrorKind::kUnreachable);
  EXPECT_NE(s.error().message.find("cannot connect to postgresql://sgeventd:***@/postgres"),
            std::string::npos)
      << s.error().message;
  EXPECT_EQ(s.error().message.find("s3cret"), std::string::npos) << s.error().message;
}

TEST(PgStateStore, ARoleWithoutRightsIsToldWhatItLacks) {
  const std::string url = testing::fresh_database_url("rights");
  auto c = pg::Connection::open({url});
  ASSERT_TRUE(c);
  auto& db = *c;
  const std::string role = "sgeventd_reader_" + std::to_string(getpid());
  ASSERT_TRUE(db->exec("DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role + " LOGIN"));
  const std::string as_role = url.substr(0, url.find("user=")) + "user=" + role;

  // No tables yet, and no right to make them (PostgreSQL 15: no CREATE on public for others).
  PgStateOptions o = options_for("rights");
  o.url = as_role;
  auto none = PgStateStore::open(o);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, StateErrorKind::kUnwritable) << none.error().describe();
  EXPECT_NE(none.error().message.find("cannot create the state's tables"), std::string::npos)
      << none.error().message;

  // Tables made by another role, readable only.
  PgStateOptions owner = options_for("rights");
  owner.url = url;
  ASSERT_TRUE(open_store(owner));
  ASSERT_TRUE(db->exec("GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role));
  auto read_only = PgStateStore::open(o);
  ASSERT_FALSE(read_only);
  EXPECT_EQ(read_only.error().kind, StateErrorKind::kUnwritable);
  EXPECT_NE(read_only.error().message.find("may not read and write"), std::string::npos)
      << read_only.error().message;
  o.read_only = true;
  EXPECT_TRUE(PgStateStore::open(o)) << "reading is all an inspection needs";
  o.read_only = false;

  // Every table, but not the sequences new rows take their ids from.
  ASSERT_TRUE(
      db->exec("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role));
  auto no_sequences = PgStateStore::open(o);
  ASSERT_FALSE(no_sequences);
  EXPECT_NE(no_sequences.error().message.find("may not use the sequences"), std::string::npos)
      << no_sequences.error().message;
  ASSERT_TRUE(db->exec("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO " + role));
  auto granted = PgStateStore::open(o);
  ASSERT_TRUE(granted) << granted.error().describe();
  ASSERT_TRUE((*granted)->leader_lease()->try_acquire());
  EXPECT_TRUE((*granted)->commit(StateBatch().advance_cursor(kA, 1).park_dead_letter(
      testing::dead_letter(kA, "cb", 1, 1, kT0))))
      << "with these grants it writes";
  ASSERT_TRUE(db->exec("REASSIGN OWNED BY " + role + " TO CURRENT_USER; DROP OWNED BY " + role +
                       "; DROP ROLE " + role));
}

TEST(PgStateStore, APasswordGivenApartFromTheUrlIsUsed) {
  // The tests' server asks this role (only) for its password (tests/support/pg_server.sh).
  auto db = admin();
  ASSERT_TRUE(db);
  ASSERT_TRUE(
      db->exec("DROP ROLE IF EXISTS sgeventd_password; "
               "CREATE ROLE sgeventd_password LOGIN SUPERUSER PASSWORD 'right horse'"));
  const std::string url = testing::test_database_url();
  PgStateOptions o = options_for("password");
  o.url = url.substr(0, url.find("user=")) + "user=sgeventd_password";
  auto none = PgStateStore::open(o);
  ASSERT_FALSE(none) << "the server must ask for the password";
  EXPECT_EQ(none.error().kind, StateErrorKind::kUnreachable);
  o.password = "wrong";
  auto wrong = PgStateStore::open(o);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("password authentication failed"), std::string::npos)
      << wrong.error().message;
  o.password = "right horse";
  EXPECT_TRUE(PgStateStore::open(o));
}

TEST(PgStateStore, ANewerSchemaIsRefused) {
  ASSERT_TRUE(open_store(options_for("newer")));
  auto db = admin();
  ASSERT_TRUE(db && db->exec("UPDATE sgeventd_schema SET version = 99"));
  auto s = PgStateStore::open(options_for("newer"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, StateErrorKind::kNewerSchema);
  ASSERT_TRUE(db->exec("UPDATE sgeventd_schema SET version = 1"));  // for the tests after
}

TEST(PgStateStore, DaemonsOpeningAFreshDatabaseTogetherBothSucceed) {
  // The tables are made under an advisory lock: the second waits, then finds them.
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto s = PgStateStore::open(options_for("together"));
      if (s) ++opened;
      EXPECT_TRUE(s) << s.error().describe();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 4);
}

TEST(PgStateStore, ReadOnlyStoresHaveNoLeaseAndWriteNothing) {
  auto writer = open_store(options_for("inspect"));
  ASSERT_TRUE(writer && acquire(*writer));
  ASSERT_TRUE(writer->commit(StateBatch().advance_cursor(kA, 4)));
  PgStateOptions o = options_for("inspect");
  o.read_only = true;
  auto reader = open_store(o);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->leader_lease(), nullptr);
  EXPECT_EQ(cursor_of(*reader, kA), 4);
  auto w = reader->commit(StateBatch().advance_cursor(kA, 5));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().kind, StateErrorKind::kUnwritable);
}

TEST(PgStateStore, TextPostgresCannotHoldIsMadeStorable) {
  auto s = open_store(options_for(testing::unique_state_name("bytes")));
  ASSERT_TRUE(s && acquire(*s));
  DeadLetter d =
      testing::dead_letter(kA, "cb", 1, 1, kT0, std::string("bad \xff\xfe utf-8 \0 nul", 19));
  ASSERT_TRUE(s->commit(StateBatch().park_dead_letter(d)));
  EXPECT_EQ((*s->dead_letters({}))[0].error, "bad \xEF\xBF\xBD\xEF\xBF\xBD utf-8  nul");
}

TEST(PgText, StorableTextKeepsValidUtf8AndReplacesTheRest) {
  EXPECT_EQ(pg::storable_text("plain ascii"), "plain ascii");
  EXPECT_EQ(pg::storable_text("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(pg::storable_text("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD") << "overlong";
  EXPECT_EQ(pg::storable_text("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD")
      << "a surrogate";
  EXPECT_EQ(pg::storable_text("cut \xE2\x82"), "cut \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(PgText, PasswordsAreRedactedFromUrls) {
  EXPECT_EQ(pg::redact_url("postgresql://u:pw@db.example/state"),
            "postgresql://u:***@db.example/state");
  EXPECT_EQ(pg::redact_url("postgres://u@db/state?password=pw&sslmode=require"),
            "postgres://u@db/state?password=***&sslmode=require");
  EXPECT_EQ(pg::redact_url("host=db password='p w' dbname=s"), "host=db password=*** dbname=s");
  EXPECT_EQ(pg::redact_url("postgresql:///s?host=/run/pg"), "postgresql:///s?host=/run/pg");
  EXPECT_EQ(pg::url_password("postgresql://u:pw@db/state"), "pw");
  EXPECT_EQ(pg::url_password("postgres://u@db/state?sslmode=require&password=q"), "q");
  EXPECT_EQ(pg::url_password("postgresql:///s?host=/run/pg"), "");
}

}  // namespace
}  // namespace sgeventd::state
