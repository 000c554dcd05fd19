#include "workers/worker_error.h"

#include <cstring>

namespace sgeventd::workers {

std::string ExitStatus::describe() const {
  if (code) return "exit code " + std::to_string(*code);
  if (signal) {
    const char* name = ::strsignal(*signal);
    return "signal " + std::to_string(*signal) + (name ? std::string(" (") + name + ")" : "");
  }
  return "still running";
}

const char* WorkerError::kind_name(Kind kind) {
  switch (kind) {
    case Kind::kSpawnFailed:
      return "spawn failed";
    case Kind::kExited:
      return "worker exited";
    case Kind::kProtocol:
      return "protocol error";
    case Kind::kTimeout:
      return "timeout";
    case Kind::kMemoryLimit:
      return "memory limit";
    case Kind::kVersion:
      return "protocol version";
    case Kind::kIo:
      return "i/o error";
  }
  return "error";
}

std::string WorkerError::describe() const {
  std::string out = std::string(kind_name(kind)) + ": " + message;
  if (exit) out += " (" + exit->describe() + ")";
  return out;
}

}  // namespace sgeventd::workers
