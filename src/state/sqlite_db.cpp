#include "state/sqlite_db.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstring>

namespace sgeventd::state::sqlite {
namespace {

// SQLite's message, plus the OS error behind an I/O failure ("disk I/O error" alone does not
// say whether the disk is full or gone).
std::string describe_failure(sqlite3* db, int rc) {
  std::string text = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int os_error = db ? sqlite3_system_errno(db) : 0;
  if (os_error != 0 && kind_for(rc) == StateErrorKind::kUnwritable) {
    text += std::string(" (") + std::strerror(os_error) + ")";
  }
  return text;
}

}  // namespace

StateErrorKind kind_for(int result_code) {
  switch (result_code & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StateErrorKind::kUnwritable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StateErrorKind::kCorrupt;
    case SQLITE_CONSTRAINT:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return StateErrorKind::kInvalidArgument;
    default:
      return StateErrorKind::kInternal;
  }
}

Statement::~Statement() {
  if (stmt_) sqlite3_reset(stmt_);
}

Statement& Statement::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Statement& Statement::bind(int i, const std::string& s) {
  sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int i, std::optional<std::int64_t> v) {
  return v ? bind(i, *v) : bind_null(i);
}

Statement& Statement::bind_null(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

StateResult<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return state_error(kind_for(rc), describe_failure(db_, rc) + " (in " + sqlite3_sql(stmt_) + ")");
}

StateResult<void> Statement::run() {
  while (true) {
    auto row = step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return {};
  }
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::int64_t Statement::int_at(int col) const { return sqlite3_column_int64(stmt_, col); }

std::optional<std::int64_t> Statement::optional_int_at(int col) const {
  if (is_null(col)) return std::nullopt;
  return int_at(col);
}

std::string Statement::text_at(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}

StateResult<std::unique_ptr<Db>> Db::open(const std::string& path, bool read_only, bool create) {
  sqlite3* handle = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (create && !read_only) flags |= SQLITE_OPEN_CREATE;
  // The store serializes calls itself; no SQLite mutex needed.
  flags |= SQLITE_OPEN_NOMUTEX;
  if (create && !read_only) {
    // The state holds events and their errors: made 0640, not SQLite's 0644 (its -wal and -shm
    // files take the database's mode). An empty file is an empty database to SQLite.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd >= 0) ::close(fd);
  }
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    sqlite3_close(handle);
    return state_error(kind_for(rc), "cannot open " + path + ": " + message);
  }
  sqlite3_extended_result_codes(handle, 1);
  return std::unique_ptr<Db>(new Db(handle));
}

Db::~Db() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

StateResult<void> Db::exec(const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string text = describe_failure(db_, rc);
  sqlite3_free(message);
  return state_error(kind_for(rc), text);
}

StateResult<Statement> Db::prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(error(std::string("preparing ") + sql, rc));
    it = statements_.emplace(sql, stmt).first;
  }
  sqlite3_reset(it->second);
  sqlite3_clear_bindings(it->second);
  return Statement(db_, it->second);
}

StateResult<std::optional<std::int64_t>> Db::query_int(const char* sql) {
  auto stmt = prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<std::int64_t>();
  return stmt->optional_int_at(0);
}

StateError Db::error(const std::string& what) const {
  return error(what, sqlite3_extended_errcode(db_));
}

StateError Db::error(const std::string& what, int code) const {
  return StateError{kind_for(code), what + ": " + describe_failure(db_, code)};
}

bool Db::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

int Db::changes() const { return sqlite3_changes(db_); }

std::int64_t Db::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

}  // namespace sgeventd::state::sqlite
