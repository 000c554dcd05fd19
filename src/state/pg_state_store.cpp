#include "state/pg_state_store.h"

#include <unistd.h>

#include <limits>
#include <random>
#include <type_traits>

#include "state/pg_db.h"
#include "state/store_rows.h"

namespace sgeventd::state {
namespace {

using pg::param;
using pg::Param;
using rows::ms;
using rows::wall;

// Version 1. Every table but the schema version is keyed by the state's name. A later version
// adds a step to create_or_migrate and bumps kSchemaVersion.
constexpr const char* kPgSchema = R"sql(
CREATE TABLE sgeventd_schema(version integer NOT NULL);
INSERT INTO sgeventd_schema(version) VALUES (1);
CREATE TABLE sgeventd_lease(
  state_name text PRIMARY KEY,
  holder text NOT NULL,
  epoch bigint NOT NULL,
  acquired_at timestamptz NOT NULL,
  renewed_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL);
CREATE TABLE sgeventd_plugins(
  id bigserial PRIMARY KEY,
  state_name text NOT NULL,
  path text NOT NULL,
  name text NOT NULL,
  cursor bigint,
  status text NOT NULL CHECK (status IN ('active', 'deactivated', 'disabled')),
  reason text NOT NULL,
  since_ms bigint NOT NULL,
  UNIQUE (state_name, path, name));
CREATE TABLE sgeventd_gaps(
  plugin_id bigint NOT NULL REFERENCES sgeventd_plugins(id) ON DELETE CASCADE,
  first_id bigint NOT NULL,
  last_id bigint NOT NULL,
  first_seen_ms bigint NOT NULL,
  expiry_ms bigint NOT NULL,
  CHECK (first_id <= last_id),
  PRIMARY KEY (plugin_id, first_id));
CREATE TABLE sgeventd_dead_letters(
  id bigserial PRIMARY KEY,
  plugin_id bigint NOT NULL REFERENCES sgeventd_plugins(id) ON DELETE CASCADE,
  callback text NOT NULL,
  event_id bigint NOT NULL,
  event_json text NOT NULL,
  error text NOT NULL,
  attempts integer NOT NULL,
  first_failure_ms bigint NOT NULL,
  last_failure_ms bigint NOT NULL,
  retried_ms bigint,
  retry_count integer NOT NULL DEFAULT 0,
  UNIQUE (plugin_id, callback, event_id));
CREATE INDEX sgeventd_dead_letters_by_plugin ON sgeventd_dead_letters(plugin_id, id);
CREATE TABLE sgeventd_legacy_defaults(
  state_name text NOT NULL,
  folder text NOT NULL,
  cursor bigint NOT NULL,
  PRIMARY KEY (state_name, folder));
)sql";

// pg_advisory_xact_lock key for making the tables: "sgev" "schm".
constexpr const char* kSchemaLock = "SELECT pg_advisory_xact_lock(5999329935166793069)";

constexpr const char* kPluginColumns =
    "SELECT id, path, name, cursor, status, reason, since_ms FROM sgeventd_plugins ";
constexpr const char* kDeadLetterColumns =
    "SELECT d.id, p.path, p.name, d.callback, d.event_id, d.event_json, d.error, d.attempts, "
    "d.first_failure_ms, d.last_failure_ms, d.retried_ms, d.retry_count "
    "FROM sgeventd_dead_letters d JOIN sgeventd_plugins p ON p.id = d.plugin_id ";
// Milliseconds between two timestamptz values, as bigint.
#define SGEVENTD_MS(a, b) "(extract(epoch from (" a " - " b ")) * 1000)::bigint"

// The schema version of the tables, nullopt when there are none.
StateResult<std::optional<std::int64_t>> schema_version(pg::Connection& db) {
  // A scan of pg_class with the statement's snapshot, not to_regclass: that goes through the
  // backend's catalog cache, which an advisory lock does not refresh, and could miss tables
  // another daemon committed while this one waited for the lock.
  auto t = db.run(
      "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
      "ON n.oid = c.relnamespace WHERE c.relname = 'sgeventd_schema' "
      "AND n.nspname = current_schema())");
  if (!t) return tl::unexpected(t.error());
  if (t->text(0, 0) != "t") return std::optional<std::int64_t>();
  auto v = db.run("SELECT max(version) FROM sgeventd_schema");
  if (!v) return tl::unexpected(v.error());
  return std::optional<std::int64_t>(v->optional_integer(0, 0).value_or(0));
}

StateResult<void> check_rights(pg::Connection& db) {
  auto rights = db.run(
      "SELECT bool_and(has_table_privilege(t, p)) FROM "
      "unnest(ARRAY['sgeventd_lease', 'sgeventd_plugins', 'sgeventd_gaps', "
      "'sgeventd_dead_letters', 'sgeventd_legacy_defaults']) AS t, "
      "unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p");
  if (!rights) return tl::unexpected(rights.error());
  if (rights->text(0, 0) != "t") {
    return state_error(StateErrorKind::kUnwritable,
                       "the database role may not read and write every sgeventd_ table "
                       "(SELECT, INSERT, UPDATE, DELETE)");
  }
  // New plugins and dead letters take their ids from these.
  auto sequences = db.run(
      "SELECT bool_and(has_sequence_privilege(s, 'USAGE')) FROM "
      "unnest(ARRAY['sgeventd_plugins_id_seq', 'sgeventd_dead_letters_id_seq']) AS s");
  if (!sequences) return tl::unexpected(sequences.error());
  if (sequences->text(0, 0) != "t") {
    return state_error(StateErrorKind::kUnwritable,
                       "the database role may not use the sequences sgeventd_plugins_id_seq "
                       "and sgeventd_dead_letters_id_seq (USAGE)");
  }
  return {};
}

// Refuses tables a newer sgeventd made.
StateResult<void> check_version(std::int64_t found) {
  if (found <= PgStateStore::kSchemaVersion) return {};
  return state_error(StateErrorKind::kNewerSchema,
                     "the state's tables are of schema version " + std::to_string(found) +
                         ", newer than this sgeventd's " +
                         std::to_string(PgStateStore::kSchemaVersion));
}

// The grant a lease statement RETURNING epoch, milliseconds to expiry answered.
LeaseGrant grant_of(const pg::Rows& r) {
  return LeaseGrant{r.integer(0, 0), std::chrono::milliseconds(r.integer(0, 1))};
}

PluginState plugin_row(const pg::Rows& r, int i) {
  PluginState p;
  p.key = PluginKey{r.text(i, 1), r.text(i, 2)};
  p.cursor = r.optional_integer(i, 3);
  p.status.activity = rows::activity_of(r.text(i, 4));
  p.status.reason = r.text(i, 5);
  p.status.since = wall(r.integer(i, 6));
  return p;
}

DeadLetter dead_letter_row(const pg::Rows& r, int i) {
  DeadLetter d;
  d.id = r.integer(i, 0);
  d.plugin = PluginKey{r.text(i, 1), r.text(i, 2)};
  d.callback = r.text(i, 3);
  d.event_id = r.integer(i, 4);
  d.event_json = r.text(i, 5);
  d.error = r.text(i, 6);
  d.attempts = static_cast<int>(r.integer(i, 7));
  d.first_failure = wall(r.integer(i, 8));
  d.last_failure = wall(r.integer(i, 9));
  if (auto t = r.optional_integer(i, 10)) d.retried_at = wall(*t);
  d.retry_count = static_cast<int>(r.integer(i, 11));
  return d;
}

Gap gap_row(const pg::Rows& r, int i, int first_col) {
  return Gap{r.integer(i, first_col), r.integer(i, first_col + 1),
             wall(r.integer(i, first_col + 2)), wall(r.integer(i, first_col + 3))};
}

std::string default_holder() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device device;
  std::uniform_int_distribution<std::uint32_t> any;
  char tail[16];
  std::snprintf(tail, sizeof tail, "%08x", any(device));
  return std::string(host[0] ? host : "host") + ":" + std::to_string(getpid()) + ":" + tail;
}

pg::ConnectOptions connect_options(const PgStateOptions& o, const char* role) {
  pg::ConnectOptions c;
  c.url = o.url;
  c.password = o.password;
  c.application_name = std::string("sgeventd ") + role + " (" + o.name + ")";
  // No statement may outlast a third of the lease: a renewal or commit that hangs longer has
  // failed, and the holder must learn it while its lease still runs.
  c.statement_timeout_ms = static_cast<int>(std::max<std::int64_t>(500, o.lease.count() / 3));
  c.idle_in_transaction_timeout_ms = c.statement_timeout_ms;
  c.connect_timeout_seconds =
      static_cast<int>(std::clamp<std::int64_t>(o.lease.count() / 3000, 2, 10));
  return c;
}

}  // namespace

// The lease, on a connection of its own: a renewal must never wait behind a slow commit.
class PgStateStore::Lease final : public LeaderLease {
 public:
  Lease(PgStateStore& store, std::unique_ptr<pg::Connection> db)
      : store_(store), db_(std::move(db)) {}

  const std::string& holder_id() const override { return store_.options_.holder; }

  StateResult<std::optional<LeaseGrant>> try_acquire() override {
    std::lock_guard guard(mutex_);
    const std::int64_t held = store_.fence_.load();
    // Ours if nobody holds it, it expired, or we hold it now (then the epoch stays).
    auto r = db_->run(
        "INSERT INTO sgeventd_lease AS l "
        "(state_name, holder, epoch, acquired_at, renewed_at, expires_at) "
        "VALUES ($1, $2, 1, now(), now(), now() + $3 * interval '1 millisecond') "
        "ON CONFLICT (state_name) DO UPDATE SET "
        "holder = excluded.holder, "
        "epoch = CASE WHEN l.holder = excluded.holder AND l.epoch = $4 THEN l.epoch "
        "ELSE l.epoch + 1 END, "
        "acquired_at = CASE WHEN l.holder = excluded.holder AND l.epoch = $4 THEN l.acquired_at "
        "ELSE now() END, "
        "renewed_at = now(), expires_at = excluded.expires_at "
        "WHERE l.expires_at <= now() OR (l.holder = excluded.holder AND l.epoch = $4) "
        "RETURNING epoch, " SGEVENTD_MS("expires_at", "now()"),
        {param(store_.options_.name), param(holder_id()), param(store_.options_.lease.count()),
         param(held)});
    if (!r) return tl::unexpected(r.error());
    if (r->empty()) {
      if (held != 0) store_.fence_.store(0);  // someone else has it now
      return std::optional<LeaseGrant>();
    }
    const LeaseGrant grant = grant_of(*r);
    store_.fence_.store(grant.epoch);
    return std::optional<LeaseGrant>(grant);
  }

  StateResult<LeaseGrant> renew() override {
    std::lock_guard guard(mutex_);
    const std::int64_t held = store_.fence_.load();
    if (held == 0) return state_error(StateErrorKind::kFenced, "this daemon holds no lease");
    auto r = db_->run(
        "UPDATE sgeventd_lease SET renewed_at = now(), "
        "expires_at = now() + $3 * interval '1 millisecond' "
        "WHERE state_name = $1 AND holder = $2 AND epoch = $4 "
        "RETURNING epoch, " SGEVENTD_MS("expires_at", "now()"),
        {param(store_.options_.name), param(holder_id()), param(store_.options_.lease.count()),
         param(held)});
    if (!r) return tl::unexpected(r.error());
    if (r->empty()) {
      store_.fence_.store(0);
      return state_error(StateErrorKind::kFenced,
                         "another daemon took the lease of state '" + store_.options_.name +
                             "' (this daemon held epoch " + std::to_string(held) + ")");
    }
    return grant_of(*r);
  }

  StateResult<void> release() override {
    std::lock_guard guard(mutex_);
    const std::int64_t held = store_.fence_.exchange(0);
    if (held == 0) return {};
    auto r = db_->run(
        "UPDATE sgeventd_lease SET expires_at = now() "
        "WHERE state_name = $1 AND holder = $2 AND epoch = $3",
        {param(store_.options_.name), param(holder_id()), param(held)});
    if (!r) return tl::unexpected(r.error());
    return {};
  }

  StateResult<std::optional<LeaseRow>> read() override {
    std::lock_guard guard(mutex_);
    auto r = db_->run("SELECT holder, epoch, " SGEVENTD_MS("expires_at", "now()") ", " SGEVENTD_MS(
                          "now()", "renewed_at") ", "
                                                 "(extract(epoch from acquired_at) * 1000)::bigint "
                                                 "FROM sgeventd_lease WHERE state_name = $1",
                      {param(store_.options_.name)});
    if (!r) return tl::unexpected(r.error());
    if (r->empty()) return std::optional<LeaseRow>();
    LeaseRow row;
    row.holder = r->text(0, 0);
    row.epoch = r->integer(0, 1);
    row.expires_in = std::chrono::milliseconds(r->integer(0, 2));
    row.since_renewed = std::chrono::milliseconds(r->integer(0, 3));
    row.acquired_at = wall(r->integer(0, 4));
    return std::optional<LeaseRow>(row);
  }

 private:
  PgStateStore& store_;
  std::unique_ptr<pg::Connection> db_;
  std::mutex mutex_;
};

PgStateStore::PgStateStore(PgStateOptions options, std::unique_ptr<pg::Connection> db)
    : options_(std::move(options)), db_(std::move(db)) {}

PgStateStore::~PgStateStore() = default;

StateResult<std::unique_ptr<PgStateStore>> PgStateStore::open(PgStateOptions options) {
  if (options.name.empty()) {
    return state_error(StateErrorKind::kInvalidArgument, "a PostgreSQL state needs a name");
  }
  if (options.lease < std::chrono::milliseconds(1000)) {
    return state_error(StateErrorKind::kInvalidArgument, "the lease must be at least 1 s");
  }
  if (options.holder.empty()) options.holder = default_holder();
  auto db = pg::Connection::open(connect_options(options, "state"));
  if (!db) return tl::unexpected(db.error());
  std::unique_ptr<PgStateStore> store(new PgStateStore(std::move(options), std::move(*db)));
  if (auto r = store->create_or_migrate(); !r) return tl::unexpected(r.error());
  if (!store->options_.read_only) {
    auto lease_db = pg::Connection::open(connect_options(store->options_, "lease"));
    if (!lease_db) return tl::unexpected(lease_db.error());
    store->lease_ = std::make_unique<Lease>(*store, std::move(*lease_db));
  }
  return store;
}

StateResult<void> PgStateStore::create_or_migrate() {
  auto version = [&] { return schema_version(*db_); };
  auto found = version();
  if (!found) return tl::unexpected(found.error());
  if (!*found && !options_.read_only) {
    // Made once, under a lock: a second daemon starting at the same instant waits, then finds
    // the tables made.
    if (auto r = db_->exec("BEGIN"); !r) return r;
    auto made = [&]() -> StateResult<void> {
      if (auto r = db_->exec(kSchemaLock); !r) return r;
      auto again = version();
      if (!again) return tl::unexpected(again.error());
      if (*again) return {};
      return db_->exec(kPgSchema);
    }();
    if (!made) {
      db_->rollback();
      auto e = made.error();
      if (e.kind == StateErrorKind::kUnwritable) {
        e.message =
            "cannot create the state's tables (does the role have CREATE on the "
            "database's schema?): " +
            e.message;
      }
      return tl::unexpected(e);
    }
    if (auto r = db_->exec("COMMIT"); !r) return r;
    found = version();
    if (!found) return tl::unexpected(found.error());
  }
  if (!*found) {
    return state_error(StateErrorKind::kCorrupt,
                       "the database has no sgeventd state yet: start the daemon once");
  }
  if (auto ok = check_version(**found); !ok) return ok;
  // Rights are checked now, not at the first commit: a role that may read but not write is a
  // startup error.
  if (!options_.read_only) return check_rights(*db_);
  return {};
}

StateResult<std::string> PgStateStore::probe(const PgStateOptions& options) {
  auto db = pg::Connection::open(connect_options(options, "check"));
  if (!db) return tl::unexpected(db.error());
  auto version = schema_version(**db);
  if (!version) return tl::unexpected(version.error());
  if (!*version) {
    auto may =
        (*db)->run("SELECT has_schema_privilege(current_schema(), 'CREATE'), current_schema()");
    if (!may) return tl::unexpected(may.error());
    if (may->text(0, 0) != "t") {
      return state_error(StateErrorKind::kUnwritable,
                         "no sgeventd tables yet, and the role may not create them in schema " +
                             may->text(0, 1) + " (GRANT CREATE ON SCHEMA " + may->text(0, 1) +
                             " TO the role, or make the tables as another role)");
    }
    return std::string("no sgeventd tables yet: the daemon makes them at its first start");
  }
  if (auto ok = check_version(**version); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_rights(**db); !ok) return tl::unexpected(ok.error());
  auto lease = (*db)->run(
      "SELECT holder, " SGEVENTD_MS("expires_at", "now()") " FROM sgeventd_lease "
      "WHERE state_name = $1",
      {param(options.name)});
  if (!lease) return tl::unexpected(lease.error());
  std::string said = "schema version " + std::to_string(**version) + ", rights to read and write";
  if (!lease->empty()) {
    said += lease->integer(0, 1) > 0 ? "; led by " + lease->text(0, 0) : "; no daemon leads it now";
  }
  return said;
}

LeaderLease* PgStateStore::leader_lease() { return lease_.get(); }

int PgStateStore::backend_pid() const { return db_->backend_pid(); }

StateResult<void> PgStateStore::check_fence() {
  const std::int64_t held = fence_.load();
  if (held == 0) {
    return state_error(StateErrorKind::kFenced, "this daemon does not hold the lease of state '" +
                                                    options_.name + "': it may not write");
  }
  // FOR SHARE: a takeover (an UPDATE of this row) waits until this transaction ends, and this
  // transaction, if the takeover came first, sees its new epoch. Sent with the BEGIN, in one
  // round trip (a commit is a few of them: the dispatcher waits for it).
  auto r = db_->run("BEGIN; SELECT epoch, holder FROM sgeventd_lease WHERE state_name = " +
                    db_->literal(options_.name) + " FOR SHARE");
  if (!r) return tl::unexpected(r.error());
  if (r->empty() || r->integer(0, 0) != held || r->text(0, 1) != options_.holder) {
    fence_.store(0);
    return state_error(StateErrorKind::kFenced, "another daemon took the lease of state '" +
                                                    options_.name + "' (this daemon held epoch " +
                                                    std::to_string(held) +
                                                    "): nothing was written");
  }
  return {};
}

template <typename F>
auto PgStateStore::in_transaction(bool write, F&& body) -> decltype(body()) {
  if (write && options_.read_only) {
    return state_error(StateErrorKind::kUnwritable, "the state was opened read-only");
  }
  if (write) {
    if (auto ok = check_fence(); !ok) {  // it begins the transaction
      db_->rollback();
      return tl::unexpected(ok.error());
    }
  } else if (auto r = db_->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !r) {
    return tl::unexpected(r.error());
  }
  auto result = body();
  if (!result) {
    db_->rollback();
    if (write) plugin_ids_.clear();  // rows made by the failed transaction are gone
    return result;
  }
  if (auto r = db_->exec("COMMIT"); !r) {
    db_->rollback();
    if (write) plugin_ids_.clear();
    return tl::unexpected(r.error());
  }
  return result;
}

StateResult<void> PgStateStore::commit(const StateBatch& batch) {
  std::lock_guard guard(mutex_);
  if (batch.empty()) return {};
  return in_transaction(true, [&] { return apply_all(batch); });
}

StateResult<void> PgStateStore::apply_all(const StateBatch& batch) {
  // Cursor advances in a row (a pass's usual batch: one per plugin) go in one statement:
  // they commute with each other, not with the other operations, which keep their order.
  std::map<std::int64_t, EventId> advances;
  for (const auto& op : batch.operations()) {
    if (const auto* a = std::get_if<StateBatch::AdvanceCursor>(&op)) {
      auto id = plugin_id(a->plugin);
      if (!id) return tl::unexpected(id.error());
      auto [it, fresh] = advances.emplace(*id, a->to);
      if (!fresh) it->second = std::max(it->second, a->to);
      continue;
    }
    if (auto flushed = advance_cursors(advances); !flushed) return flushed;
    if (auto applied = apply(op); !applied) return applied;
  }
  return advance_cursors(advances);
}

StateResult<void> PgStateStore::advance_cursors(std::map<std::int64_t, EventId>& advances) {
  if (advances.empty()) return {};
  std::string ids = "{", tos = "{";
  for (const auto& [id, to] : advances) {
    ids += (ids.size() > 1 ? "," : "") + std::to_string(id);
    tos += (tos.size() > 1 ? "," : "") + std::to_string(to);
  }
  advances.clear();
  auto r = db_->run(
      "UPDATE sgeventd_plugins p SET cursor = v.cursor "
      "FROM unnest($1::bigint[], $2::bigint[]) AS v(id, cursor) "
      "WHERE p.id = v.id AND (p.cursor IS NULL OR p.cursor < v.cursor)",
      {ids + "}", tos + "}"});
  if (!r) return tl::unexpected(r.error());
  return {};
}

StateResult<std::int64_t> PgStateStore::plugin_id(const PluginKey& key) {
  if (auto it = plugin_ids_.find(key); it != plugin_ids_.end()) return it->second;
  // The no-op update makes RETURNING give the id of a row that was already there.
  auto r = db_->run(
      "INSERT INTO sgeventd_plugins(state_name, path, name, cursor, status, reason, since_ms) "
      "VALUES ($1, $2, $3, NULL, 'active', '', $4) "
      "ON CONFLICT (state_name, path, name) DO UPDATE SET path = excluded.path RETURNING id",
      {param(options_.name), param(pg::storable_text(key.path)), param(pg::storable_text(key.name)),
       param(ms(options_.now()))});
  if (!r) return tl::unexpected(r.error());
  const std::int64_t id = r->integer(0, 0);
  plugin_ids_.emplace(key, id);
  return id;
}

StateResult<void> PgStateStore::apply(const StateBatch::Operation& op) {
  auto done = [](StateResult<pg::Rows> r) -> StateResult<void> {
    if (!r) return tl::unexpected(r.error());
    return {};
  };
  return std::visit(
      [&](const auto& o) -> StateResult<void> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, StateBatch::ParkDeadLetter>) {
          return park(o.letter);
        } else if constexpr (std::is_same_v<T, StateBatch::SetLegacyDefault>) {
          return done(
              db_->run("INSERT INTO sgeventd_legacy_defaults(state_name, folder, cursor) "
                       "VALUES ($1, $2, $3) ON CONFLICT (state_name, folder) "
                       "DO UPDATE SET cursor = excluded.cursor",
                       {param(options_.name), param(pg::storable_text(o.value.folder)),
                        param(o.value.cursor)}));
        } else if constexpr (std::is_same_v<T, StateBatch::DropLegacyDefaults>) {
          return done(db_->run("DELETE FROM sgeventd_legacy_defaults WHERE state_name = $1",
                               {param(options_.name)}));
        } else {
          auto id = plugin_id(o.plugin);
          if (!id) return tl::unexpected(id.error());
          if constexpr (std::is_same_v<T, StateBatch::AdvanceCursor>) {
            std::map<std::int64_t, EventId> one{{*id, o.to}};
            return advance_cursors(one);
          } else if constexpr (std::is_same_v<T, StateBatch::SetCursor>) {
            return done(db_->run("UPDATE sgeventd_plugins SET cursor = $2 WHERE id = $1",
                                 {param(*id), param(o.to)}));
          } else if constexpr (std::is_same_v<T, StateBatch::SetStatus>) {
            return done(
                db_->run("UPDATE sgeventd_plugins SET status = $2, reason = $3, since_ms = $4 "
                         "WHERE id = $1",
                         {param(*id), param(std::string(rows::status_text(o.status.activity))),
                          param(pg::storable_text(o.status.reason)), param(ms(o.status.since))}));
          } else if constexpr (std::is_same_v<T, StateBatch::AddGap>) {
            return add_gap(*id, o.gap);
          } else {
            static_assert(std::is_same_v<T, StateBatch::RemoveGapIds>);
            return remove_gap_ids(*id, o.first_id, o.last_id);
          }
        }
      },
      op);
}

StateResult<std::vector<Gap>> PgStateStore::overlapping_gaps(std::int64_t plugin, EventId first,
                                                             EventId last) {
  auto r = db_->run(
      "SELECT first_id, last_id, first_seen_ms, expiry_ms FROM sgeventd_gaps "
      "WHERE plugin_id = $1 AND first_id <= $3 AND last_id >= $2 ORDER BY first_id",
      {param(plugin), param(first), param(last)});
  if (!r) return tl::unexpected(r.error());
  std::vector<Gap> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(gap_row(*r, i, 0));
  return out;
}

StateResult<void> PgStateStore::apply_gap_edit(std::int64_t plugin, const rows::GapEdit& edit) {
  for (EventId first : edit.remove) {
    auto r = db_->run("DELETE FROM sgeventd_gaps WHERE plugin_id = $1 AND first_id = $2",
                      {param(plugin), param(first)});
    if (!r) return tl::unexpected(r.error());
  }
  for (const Gap& g : edit.insert) {
    auto r = db_->run(
        "INSERT INTO sgeventd_gaps(plugin_id, first_id, last_id, first_seen_ms, expiry_ms) "
        "VALUES ($1, $2, $3, $4, $5)",
        {param(plugin), param(g.first_id), param(g.last_id), param(ms(g.first_seen)),
         param(ms(g.expiry))});
    if (!r) return tl::unexpected(r.error());
  }
  return {};
}

StateResult<void> PgStateStore::add_gap(std::int64_t plugin, const Gap& gap) {
  auto held = overlapping_gaps(plugin, gap.first_id, gap.last_id);
  if (!held) return tl::unexpected(held.error());
  auto edit = rows::plan_add_gap(*held, gap);
  if (!edit) return tl::unexpected(edit.error());
  return apply_gap_edit(plugin, *edit);
}

StateResult<void> PgStateStore::remove_gap_ids(std::int64_t plugin, EventId first, EventId last) {
  if (first > last) return {};
  auto held = overlapping_gaps(plugin, first, last);
  if (!held) return tl::unexpected(held.error());
  return apply_gap_edit(plugin, rows::plan_remove_ids(*held, first, last));
}

StateResult<void> PgStateStore::park(const DeadLetter& letter) {
  auto id = plugin_id(letter.plugin);
  if (!id) return tl::unexpected(id.error());
  auto r = db_->run(
      "INSERT INTO sgeventd_dead_letters AS d(plugin_id, callback, event_id, event_json, error, "
      "attempts, first_failure_ms, last_failure_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
      "ON CONFLICT (plugin_id, callback, event_id) DO UPDATE SET "
      "event_json = excluded.event_json, error = excluded.error, "
      "attempts = d.attempts + excluded.attempts, last_failure_ms = excluded.last_failure_ms",
      {param(*id), param(pg::storable_text(letter.callback)), param(letter.event_id),
       param(pg::storable_text(letter.event_json)), param(pg::storable_text(letter.error)),
       param(std::int64_t{letter.attempts}), param(ms(letter.first_failure)),
       param(ms(letter.last_failure))});
  if (!r) return tl::unexpected(r.error());
  return {};
}

StateResult<std::vector<PluginState>> PgStateStore::plugins() {
  std::lock_guard guard(mutex_);
  return in_transaction(false, [&]() -> StateResult<std::vector<PluginState>> {
    auto p = db_->run(std::string(kPluginColumns) + "WHERE state_name = $1 ORDER BY path, name",
                      {param(options_.name)});
    if (!p) return tl::unexpected(p.error());
    std::vector<PluginState> out;
    std::map<std::int64_t, std::size_t> index;
    for (int i = 0; i < p->size(); ++i) {
      index[p->integer(i, 0)] = out.size();
      out.push_back(plugin_row(*p, i));
    }
    auto g = db_->run(
        "SELECT g.plugin_id, g.first_id, g.last_id, g.first_seen_ms, g.expiry_ms "
        "FROM sgeventd_gaps g JOIN sgeventd_plugins p ON p.id = g.plugin_id "
        "WHERE p.state_name = $1 ORDER BY g.plugin_id, g.first_id",
        {param(options_.name)});
    if (!g) return tl::unexpected(g.error());
    for (int i = 0; i < g->size(); ++i) {
      if (auto it = index.find(g->integer(i, 0)); it != index.end()) {
        out[it->second].gaps.push_back(gap_row(*g, i, 1));
      }
    }
    return out;
  });
}

StateResult<std::optional<PluginState>> PgStateStore::plugin(const PluginKey& key) {
  std::lock_guard guard(mutex_);
  return in_transaction(false, [&]() -> StateResult<std::optional<PluginState>> {
    auto p =
        db_->run(std::string(kPluginColumns) + "WHERE state_name = $1 AND path = $2 AND name = $3",
                 {param(options_.name), param(pg::storable_text(key.path)),
                  param(pg::storable_text(key.name))});
    if (!p) return tl::unexpected(p.error());
    if (p->empty()) return std::optional<PluginState>();
    PluginState state = plugin_row(*p, 0);
    auto g = db_->run(
        "SELECT first_id, last_id, first_seen_ms, expiry_ms FROM sgeventd_gaps "
        "WHERE plugin_id = $1 ORDER BY first_id",
        {param(p->integer(0, 0))});
    if (!g) return tl::unexpected(g.error());
    for (int i = 0; i < g->size(); ++i) state.gaps.push_back(gap_row(*g, i, 0));
    return std::optional<PluginState>(std::move(state));
  });
}

StateResult<std::vector<LegacyDefault>> PgStateStore::legacy_defaults() {
  std::lock_guard guard(mutex_);
  auto r = db_->run(
      "SELECT folder, cursor FROM sgeventd_legacy_defaults WHERE state_name = $1 ORDER BY folder",
      {param(options_.name)});
  if (!r) return tl::unexpected(r.error());
  std::vector<LegacyDefault> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(LegacyDefault{r->text(i, 0), r->integer(i, 1)});
  return out;
}

StateResult<std::vector<DeadLetter>> PgStateStore::dead_letters(const DeadLetterQuery& query) {
  std::lock_guard guard(mutex_);
  const auto limit = static_cast<std::int64_t>(
      std::min<std::size_t>(query.limit, std::numeric_limits<std::int64_t>::max()));
  Param path, name;
  if (query.plugin) {
    path = pg::storable_text(query.plugin->path);
    name = pg::storable_text(query.plugin->name);
  }
  auto r = db_->run(std::string(kDeadLetterColumns) +
                        "WHERE p.state_name = $1 AND d.id > $2 AND "
                        "($3::text IS NULL OR (p.path = $3 AND p.name = $4)) "
                        "ORDER BY d.id LIMIT $5",
                    {param(options_.name), param(query.after_id), path, name, param(limit)});
  if (!r) return tl::unexpected(r.error());
  std::vector<DeadLetter> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(dead_letter_row(*r, i));
  return out;
}

StateResult<std::optional<DeadLetter>> PgStateStore::dead_letter(std::int64_t id) {
  std::lock_guard guard(mutex_);
  auto r = db_->run(std::string(kDeadLetterColumns) + "WHERE p.state_name = $1 AND d.id = $2",
                    {param(options_.name), param(id)});
  if (!r) return tl::unexpected(r.error());
  if (r->empty()) return std::optional<DeadLetter>();
  return std::optional<DeadLetter>(dead_letter_row(*r, 0));
}

StateResult<bool> PgStateStore::delete_dead_letter(std::int64_t id) {
  std::lock_guard guard(mutex_);
  return in_transaction(true, [&]() -> StateResult<bool> {
    auto r = db_->run(
        "DELETE FROM sgeventd_dead_letters d USING sgeventd_plugins p "
        "WHERE d.id = $2 AND p.id = d.plugin_id AND p.state_name = $1",
        {param(options_.name), param(id)});
    if (!r) return tl::unexpected(r.error());
    return r->affected() > 0;
  });
}

StateResult<bool> PgStateStore::mark_dead_letter_retried(std::int64_t id, WallTime when) {
  std::lock_guard guard(mutex_);
  return in_transaction(true, [&]() -> StateResult<bool> {
    auto r = db_->run(
        "UPDATE sgeventd_dead_letters d SET retried_ms = $3, retry_count = d.retry_count + 1 "
        "FROM sgeventd_plugins p WHERE d.id = $2 AND p.id = d.plugin_id AND p.state_name = $1",
        {param(options_.name), param(id), param(ms(when))});
    if (!r) return tl::unexpected(r.error());
    return r->affected() > 0;
  });
}

StateResult<bool> PgStateStore::has_rows() {
  std::lock_guard guard(mutex_);
  auto r = db_->run(
      "SELECT EXISTS (SELECT 1 FROM sgeventd_plugins WHERE state_name = $1) OR "
      "EXISTS (SELECT 1 FROM sgeventd_legacy_defaults WHERE state_name = $1)",
      {param(options_.name)});
  if (!r) return tl::unexpected(r.error());
  return r->text(0, 0) == "t";
}

StateResult<void> PgStateStore::replace(const StateBatch& batch) {
  std::lock_guard guard(mutex_);
  return in_transaction(true, [&]() -> StateResult<void> {
    for (const char* sql : {"DELETE FROM sgeventd_plugins WHERE state_name = $1",
                            "DELETE FROM sgeventd_legacy_defaults WHERE state_name = $1"}) {
      if (auto r = db_->run(sql, {param(options_.name)}); !r) return tl::unexpected(r.error());
    }
    plugin_ids_.clear();
    return apply_all(batch);
  });
}

}  // namespace sgeventd::state
