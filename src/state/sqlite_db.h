// A thin RAII layer over one sqlite3 connection for the state store: prepared statements that
// are cached and reset, transactions, and SQLite result codes turned into StateErrors.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "sgeventd/state/state_types.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sgeventd::state::sqlite {

// Maps a SQLite result code: disk full, read-only and I/O errors to kUnwritable, corruption
// and "not a database" to kCorrupt, the rest to kInternal.
StateErrorKind kind_for(int result_code);

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
  }
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  // Resets the statement: a statement left on a row would hold a read snapshot open and keep
  // checkpoints from finishing.
  ~Statement();

  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, const std::string& s);
  Statement& bind(int i, std::optional<std::int64_t> v);
  Statement& bind_null(int i);

  // One step: true for a row, false when done; an error otherwise.
  StateResult<bool> step();
  // Runs to completion, ignoring rows.
  StateResult<void> run();

  bool is_null(int col) const;
  std::int64_t int_at(int col) const;
  std::optional<std::int64_t> optional_int_at(int col) const;
  std::string text_at(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Db {
 public:
  // Opens (never creates: the store creates files itself, atomically) with extended result
  // codes on.
  static StateResult<std::unique_ptr<Db>> open(const std::string& path, bool read_only,
                                               bool create = false);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  StateResult<void> exec(const std::string& sql);
  // A cached statement for this SQL, reset and with its bindings cleared.
  StateResult<Statement> prepare(const char* sql);
  // The single value of a one-row query, if any.
  StateResult<std::optional<std::int64_t>> query_int(const char* sql);

  // The error of the last call, with `what` in front.
  StateError error(const std::string& what) const;
  StateError error(const std::string& what, int code) const;

  bool in_transaction() const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int changes() const;
  std::int64_t last_insert_rowid() const;
  sqlite3* handle() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::map<const char*, sqlite3_stmt*> statements_;  // keyed by the SQL literal's address
};

}  // namespace sgeventd::state::sqlite
