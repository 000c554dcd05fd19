// Everything that can go wrong with a worker process, as one typed value. The supervisor and
// the dispatcher branch on `kind`; `describe()` is what goes into the plugin's log.
#pragma once

#include <optional>
#include <string>

namespace sgeventd::workers {

// How a process ended: an exit code or a signal (exactly one is set once it has ended).
struct ExitStatus {
  std::optional<int> code;
  std::optional<int> signal;

  bool clean() const { return code && *code == 0; }
  // "exit code 3", "signal 9 (Killed)".
  std::string describe() const;
};

struct WorkerError {
  enum class Kind {
    kSpawnFailed,  // the program could not be started (not found, not executable, ...)
    kExited,       // the process ended (or closed its output) when the daemon did not ask
    kProtocol,     // a malformed or unexpected message, out-of-order answer, too long line
    kTimeout,      // no answer to hello/load/shutdown in time, or a callback over its budget
    kMemoryLimit,  // RSS over worker_memory_limit
    kVersion,      // the worker speaks no protocol version the daemon offers
    kIo,           // a pipe or poll failure on the daemon's side
  };

  Kind kind = Kind::kProtocol;
  std::string message;
  std::optional<ExitStatus> exit;  // set once the process has been reaped

  static const char* kind_name(Kind kind);
  // "protocol error: result for seq 7, expected 6 (then exit code 0)".
  std::string describe() const;
};

}  // namespace sgeventd::workers
