// --data FILE: the sandbox's state in SQLite (WAL), so a restart keeps entities, custom
// fields, events and id counters. Written through: each committed transaction is one SQLite
// transaction, done before the transaction's events become visible.
#pragma once

#include <memory>
#include <string>

#include "sandbox/fault.h"
#include "sandbox/store.h"

struct sqlite3;

namespace sgeventd::sandbox {

class SqliteFile {
 public:
  static Expected<std::unique_ptr<SqliteFile>> open(const std::string& path);
  ~SqliteFile();
  SqliteFile(const SqliteFile&) = delete;
  SqliteFile& operator=(const SqliteFile&) = delete;

  // Custom fields, then entities, events and counters, into an empty store.
  Expected<void> load(Store& store);
  Expected<void> save(const Store& store, const ChangeSet& changes);
  Expected<void> save_field(const FieldDef& field);
  // Forgets entities, events and counters (test control reset); keeps custom fields.
  Expected<void> clear();

 private:
  explicit SqliteFile(sqlite3* db) : db_(db) {}
  Expected<void> exec(const char* sql);
  Fault error(const std::string& what) const;

  sqlite3* db_ = nullptr;
};

}  // namespace sgeventd::sandbox
