#include "sandbox/persistence.h"

#include <sqlite3.h>

#include <chrono>

#include "sgeventd/json.h"

namespace sgeventd::sandbox {
namespace {

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }

  void bind(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  // The strings outlive the statement's step (they belong to the store): no copy needed.
  void bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }
  void bind_copy(int i, std::string s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void bind_null(int i) { sqlite3_bind_null(stmt_, i); }
  int step() { return sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t int_at(int i) { return sqlite3_column_int64(stmt_, i); }
  std::string text_at(int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
             : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
PRAGMA cache_size=-65536;
CREATE TABLE IF NOT EXISTS sandbox_format(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS custom_fields(
  entity_type TEXT NOT NULL, name TEXT NOT NULL, data_type TEXT NOT NULL,
  display_name TEXT NOT NULL, valid_types TEXT NOT NULL, valid_values TEXT NOT NULL,
  PRIMARY KEY (entity_type, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entities(
  type TEXT NOT NULL, id INTEGER NOT NULL, retired INTEGER NOT NULL,
  retirement_date INTEGER, fields TEXT NOT NULL,
  PRIMARY KEY (type, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, event_type TEXT, attribute_name TEXT,
  entity_type TEXT, entity_id INTEGER, user_type TEXT, user_id INTEGER, project_id INTEGER,
  session_uuid TEXT, description TEXT, cached_display_name TEXT, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, next_id INTEGER NOT NULL)
  WITHOUT ROWID;
)sql";

List to_list(const std::vector<std::string>& v) { return List(v.begin(), v.end()); }

std::vector<std::string> from_json_list(const std::string& text) {
  std::vector<std::string> out;
  auto v = parse_json(text);
  if (v && v->is_list()) {
    for (const Value& x : v->as_list()) {
      if (x.is_string()) out.push_back(x.as_string());
    }
  }
  return out;
}

// Stored values come back from JSON with dates as strings; give them their type again.
Value restore(const FieldDef* f, Value v) {
  if (!f) return v;
  // A text that looked like a datetime was parsed as one: make it text again.
  if (v.is_datetime() && f->type != FieldType::kDateTime) return Value(v.as_datetime().to_wire());
  if (!v.is_string()) return v;
  if (f->type == FieldType::kDate) {
    const std::string& s = v.as_string();
    if (s.size() == 10) {
      Date d{std::stoi(s.substr(0, 4)), std::stoi(s.substr(5, 2)), std::stoi(s.substr(8, 2))};
      if (d.valid()) return Value(d);
    }
  }
  if (f->type == FieldType::kDateTime) {
    if (auto dt = DateTime::parse_wire(v.as_string())) return Value(*dt);
  }
  return v;
}

}  // namespace

Expected<std::unique_ptr<SqliteFile>> SqliteFile::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return fault("cannot open data file " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<SqliteFile> file(new SqliteFile(db));
  if (auto ok = file->exec(kSchema); !ok) {
    return fault("data file " + path + " is not a sandbox database: " + ok.error().message);
  }
  return file;
}

SqliteFile::~SqliteFile() { sqlite3_close(db_); }

Fault SqliteFile::error(const std::string& what) const {
  return Fault{kFaultValidation, "sandbox data file: " + what + ": " + sqlite3_errmsg(db_)};
}

Expected<void> SqliteFile::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return fault(msg);
  }
  return {};
}

Expected<void> SqliteFile::save_field(const FieldDef& f) {
  Statement st(db_, "INSERT OR REPLACE INTO custom_fields VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st.ok()) return tl::unexpected(error("prepare"));
  st.bind(1, f.entity_type);
  st.bind(2, f.name);
  st.bind_copy(3, field_type_name(f.type));
  st.bind(4, f.display_name);
  st.bind_copy(5, to_json(Value(to_list(f.valid_types)), kCompactJson));
  st.bind_copy(6, to_json(Value(to_list(f.valid_values)), kCompactJson));
  if (st.step() != SQLITE_DONE) return tl::unexpected(error("saving a field"));
  return {};
}

Expected<void> SqliteFile::save(const Store& store, const ChangeSet& changes) {
  if (auto ok = exec("BEGIN IMMEDIATE"); !ok) return ok;
  auto fail = [&](const std::string& what) -> Expected<void> {
    Fault f = error(what);
    (void)exec("ROLLBACK");  // the save failed already; SQLite undoes it on close anyway
    return tl::unexpected(f);
  };
  {
    Statement ent(db_, "INSERT OR REPLACE INTO entities VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!ent.ok()) return fail("prepare");
    for (const Entity* e : changes.entities) {
      ent.bind(1, e->entity_type);
      ent.bind(2, e->entity_id);
      ent.bind(3, std::int64_t{e->retired ? 1 : 0});
      if (e->retirement_date) {
        ent.bind(4, e->retirement_date->utc.time_since_epoch().count());
      } else {
        ent.bind_null(4);
      }
      ent.bind_copy(5, to_json(Value(e->fields), kCompactJson));
      if (ent.step() != SQLITE_DONE) return fail("saving an entity");
      ent.reset();
    }
    Statement ev(db_,
                 "INSERT OR REPLACE INTO events VALUES "
                 "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    if (!ev.ok()) return fail("prepare");
    const StringPool& pool = store.events().pool();
    for (const EventRecord* r : changes.events) {
      ev.bind(1, r->id);
      ev.bind(2, r->created_at);
      ev.bind(3, pool.get(r->event_type));
      ev.bind(4, pool.get(r->attribute_name));
      ev.bind(5, pool.get(r->entity_type));
      ev.bind(6, r->entity_id);
      ev.bind(7, pool.get(r->user_type));
      ev.bind(8, r->user_id);
      ev.bind(9, r->project_id);
      ev.bind(10, pool.get(r->session_uuid));
      ev.bind(11, r->description);
      ev.bind(12, r->cached_display_name);
      ev.bind(13, r->meta);
      if (ev.step() != SQLITE_DONE) return fail("saving an event");
      ev.reset();
    }
    Statement ctr(db_, "INSERT OR REPLACE INTO counters VALUES (?1, ?2)");
    if (!ctr.ok()) return fail("prepare");
    for (const auto& [name, next] : changes.next_ids) {
      ctr.bind_copy(1, name.empty() ? std::string("EventLogEntry") : name);
      ctr.bind(2, next);
      if (ctr.step() != SQLITE_DONE) return fail("saving a counter");
      ctr.reset();
    }
  }
  if (auto ok = exec("COMMIT"); !ok) return fail("commit");
  return {};
}

Expected<void> SqliteFile::load(Store& store) {
  {
    Statement st(db_,
                 "SELECT entity_type, name, data_type, display_name, valid_types, "
                 "valid_values FROM custom_fields");
    if (!st.ok()) return tl::unexpected(error("prepare"));
    while (st.step() == SQLITE_ROW) {
      FieldDef f;
      f.entity_type = st.text_at(0);
      f.name = st.text_at(1);
      f.type = field_type_from_name(st.text_at(2)).value_or(FieldType::kText);
      f.display_name = st.text_at(3);
      f.valid_types = from_json_list(st.text_at(4));
      f.valid_values = from_json_list(st.text_at(5));
      if (f.type == FieldType::kCheckbox) f.default_value = Value(false);
      store.schema().restore_field(std::move(f));
    }
  }
  {
    Statement st(db_, "SELECT type, id, retired, retirement_date, fields FROM entities");
    if (!st.ok()) return tl::unexpected(error("prepare"));
    while (st.step() == SQLITE_ROW) {
      Entity e;
      e.entity_type = st.text_at(0);
      const EntityDef* def = store.schema().entity(e.entity_type);
      if (!def) continue;
      e.entity_id = st.int_at(1);
      e.retired = st.int_at(2) != 0;
      if (sqlite3_column_type(st.get(), 3) != SQLITE_NULL) {
        e.retirement_date =
            DateTime{std::chrono::sys_seconds{std::chrono::seconds{st.int_at(3)}}, 0};
      }
      auto fields = parse_json(st.text_at(4), {.datetimes = true});
      if (!fields || !fields->is_dict()) return fault("data file: a corrupt entity row");
      for (auto& [name, value] : fields->as_dict()) {
        e.fields.append(name, restore(def->field(name), std::move(value)));
      }
      store.load_entity(std::move(e));
    }
  }
  {
    Statement count(db_, "SELECT count(*) FROM events");
    if (count.ok() && count.step() == SQLITE_ROW) {
      store.events().reserve_capacity(static_cast<std::size_t>(count.int_at(0)));
    }
    Statement st(db_,
                 "SELECT id, created_at, event_type, attribute_name, entity_type, entity_id, "
                 "user_type, user_id, project_id, session_uuid, description, "
                 "cached_display_name, meta FROM events ORDER BY id");
    if (!st.ok()) return tl::unexpected(error("prepare"));
    StringPool& pool = store.events().pool();
    auto intern = [&](int col) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), col));
      if (!p) return std::uint32_t{0};
      return pool.intern(
          std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(st.get(), col))));
    };
    while (st.step() == SQLITE_ROW) {
      EventRecord r;
      r.id = st.int_at(0);
      r.created_at = st.int_at(1);
      r.event_type = intern(2);
      r.attribute_name = intern(3);
      r.entity_type = intern(4);
      r.entity_id = st.int_at(5);
      r.user_type = intern(6);
      r.user_id = st.int_at(7);
      r.project_id = st.int_at(8);
      r.session_uuid = intern(9);
      r.description = st.text_at(10);
      r.cached_display_name = st.text_at(11);
      r.meta = st.text_at(12);
      store.events().load(std::move(r));
    }
  }
  {
    Statement st(db_, "SELECT name, next_id FROM counters");
    if (!st.ok()) return tl::unexpected(error("prepare"));
    while (st.step() == SQLITE_ROW) {
      const std::string name = st.text_at(0);
      store.set_next_id(name == "EventLogEntry" ? std::string() : name, st.int_at(1));
    }
  }
  return {};
}

Expected<void> SqliteFile::clear() {
  return exec("BEGIN; DELETE FROM entities; DELETE FROM events; DELETE FROM counters; COMMIT;");
}

}  // namespace sgeventd::sandbox
