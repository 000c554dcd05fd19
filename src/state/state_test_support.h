// Helpers for the state tests: a scratch folder and a real Python 3 to write pickles with.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "sgeventd/state/state_store.h"
#include "sgeventd/state/state_types.h"

namespace sgeventd::state::testing {

// Two plugins and a time the store tests share.
inline const PluginKey kA{"/plugins/a.py", "a"};
inline const PluginKey kB{"/plugins/b.py", "b"};
inline const WallTime kT0 = WallTime(std::chrono::milliseconds(1'700'000'000'000));

// The plugin's persisted cursor; nullopt when it has none (a read error fails the test).
std::optional<EventId> cursor_of(StateStore& store, const PluginKey& key);

// A fresh folder under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// /usr/bin/python3 if present, else the python3 on PATH.
std::string python3();

// Runs a Python 3 program (its source text) with `arg` as sys.argv[1]; returns the exit
// status (0 on success). The program's stderr goes to the test's stderr.
int run_python(const std::string& program, const std::string& arg);

void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);
bool exists(const std::string& path);

// A dead letter for `event` of `plugin`'s `callback`, failed `attempts` times at `at`.
DeadLetter dead_letter(const PluginKey& plugin, std::string callback, EventId event, int attempts,
                       WallTime at, std::string error = "ValueError: boom");

}  // namespace sgeventd::state::testing
