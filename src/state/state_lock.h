// The exclusive lock that stops a second daemon from using the same state (upstream issue #48:
// two daemons racing over one state file). An flock on "<state path>.lock", which holds the
// holder's pid for the error message. The kernel drops an flock when the last descriptor of the
// open file closes, so a killed daemon (even kill -9) never leaves a stale lock behind; the file
// itself stays and is harmless.
//
// The file also keeps the number of the state's last durable checkpoint, written after the
// checkpoint's commit reached the disk: a state that opens with a lower number has gone back in
// time (a damaged or lost WAL, a restored copy), which SQLite would not say.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sgeventd/state/state_types.h"

namespace sgeventd::state {

class StateLock {
 public:
  // Fails with kLocked (naming the holder's pid when it wrote one) if another open file
  // description holds the lock, in this process or another.
  static StateResult<StateLock> acquire(const std::string& lock_path);

  StateLock(StateLock&& other) noexcept;
  StateLock& operator=(StateLock&& other) noexcept;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  ~StateLock();

  const std::string& path() const { return path_; }

  // The checkpoint number the previous holder recorded, if it recorded one.
  std::optional<std::uint64_t> previous_checkpoint() const { return previous_checkpoint_; }
  // Records checkpoint `n` as the state's latest (best effort: a number not written only makes
  // a later rollback go unnoticed, never raises a false alarm). Not synced: it may lag.
  void record_checkpoint(std::uint64_t n);

 private:
  StateLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void release();

  int fd_ = -1;
  std::string path_;
  std::optional<std::uint64_t> previous_checkpoint_;
};

}  // namespace sgeventd::state
