// The pid file: who is running, and the lock that keeps a second daemon out.
//
// The daemon holds an exclusive flock on its pid file for its whole life; the kernel drops it
// when the process dies, even by kill -9, so a pid file left behind is recognised as stale and
// taken over, and a live daemon is never mistaken for a dead one (the pid in the file alone
// cannot tell: pids are reused). Removing the file while the daemon runs is a request to stop
// (the original's behaviour): `removed()` tells the main loop.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

namespace sgeventd::daemon {

class PidFile {
 public:
  // Takes the lock and writes our pid. Fails if a live daemon holds it (naming its pid).
  static ::sgeventd::Expected<PidFile, std::string> acquire(const std::string& path);

  PidFile(PidFile&& other) noexcept;
  PidFile& operator=(PidFile&& other) noexcept;
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;
  ~PidFile();  // removes the file (if it is still ours) and releases the lock

  // True when the file was deleted or replaced since we wrote it.
  bool removed() const;
  const std::string& path() const { return path_; }

 private:
  PidFile(std::string path, int fd, dev_t dev, ino_t ino)
      : path_(std::move(path)), fd_(fd), dev_(dev), ino_(ino) {}
  void release();
  std::string path_;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

// The pid of the live daemon holding `path`, or nullopt when none does (no file, or a stale
// one).
std::optional<pid_t> running_daemon(const std::string& path);

}  // namespace sgeventd::daemon
