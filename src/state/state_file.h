// File-system steps of opening a state: what the path holds, and the atomic replacement of a
// file by a newly built database (a crash at any step leaves either the old file or the new
// one at the path, never a half-built state).
#pragma once

#include <string>

#include "sgeventd/state/state_types.h"

namespace sgeventd::state::files {

enum class Content {
  kMissing,  // nothing at the path
  kEmpty,    // a zero-length file
  kSqlite,   // starts with the SQLite header
  kOther,    // anything else (a legacy state, or garbage)
};

StateResult<Content> classify(const std::string& path);
StateResult<std::string> read_all(const std::string& path);

// Removes path and its -wal, -shm and -journal companions, if present.
void remove_database(const std::string& path);
// fsync of the file, then rename over `to`, then fsync of the folder.
StateResult<void> durable_rename(const std::string& from, const std::string& to);
// A hard link `to` -> `from` (replacing `to`), fsynced folder: keeps the legacy file under its
// new name while it still sits at its old one.
StateResult<void> durable_link(const std::string& from, const std::string& to);

}  // namespace sgeventd::state::files
