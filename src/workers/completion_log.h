// Completion records (DESIGN.md section 4, docs/plugin-protocol.md "completions"): a small
// file per plugin in which its worker notes each event whose callbacks all succeeded, right
// after they ran. The file is a memory-mapped ring, so a note costs a few stores and survives
// the death of every process (not a power loss: nothing is synced). At start the daemon reads
// the notes before it sends anything, so after kill -9 only the event whose callback was
// running is delivered again, whatever the pipeline window.
//
// Layout (little-endian, fixed size kCompletionHeader + 16 * slots bytes):
//   0   8 bytes  magic "SGEVDONE"
//   8   u32      version (1)
//   12  u32      slots: how many records the ring holds
//   16  u64      count: records ever written; bumped after the record it counts
//   24  40 bytes reserved (zero)
//   64  records: i64 event id, u64 ordinal (its position in the stream, from 1)
// Record n (from 0) lives in slot n % slots and is valid when its ordinal is n + 1: a slot a
// writer was killed in the middle of is never counted, and an overwritten one says so.
//
// The writer holds a POSIX write lock on the whole file while it runs: locks die with their
// process, so the daemon can tell (and stop) a worker of an earlier daemon that still writes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

namespace sgeventd::workers {

inline constexpr std::uint32_t kCompletionVersion = 1;
inline constexpr std::uint32_t kCompletionSlots = 4096;  // 64 KiB of records
inline constexpr std::size_t kCompletionHeader = 64;
inline constexpr std::size_t kCompletionRecord = 16;

// The daemon's side, before a worker for the plugin starts. Makes sure `path` is a regular
// file (never followed through a symlink) of the right layout, created 0600 when missing or
// laid out anew when `reset` or when it is not a valid completion file; stops a process still
// holding its lock (a worker orphaned by a killed daemon: its process group gets SIGKILL) and
// waits up to `wait` for the lock; then returns the event ids the file records.
struct TakeOver {
  std::vector<std::int64_t> ids;  // in the order written (oldest first)
  pid_t stopped = 0;              // the orphan that held the lock, if one was stopped
  bool was_reset = false;         // laid out anew: what it said (if anything) was dropped
};
::sgeventd::Expected<TakeOver, std::string> take_over_completions(
    const std::string& path, bool reset,
    std::chrono::milliseconds wait = std::chrono::milliseconds(2000));

// The ids recorded in `path`, without touching it (a missing file records nothing). For a
// worker that has exited: what it finished before it died.
::sgeventd::Expected<std::vector<std::int64_t>, std::string> read_completions(
    const std::string& path);

// A worker's side (the reference for other languages; the Python worker has its own).
class CompletionWriter {
 public:
  CompletionWriter() = default;
  CompletionWriter(CompletionWriter&& other) noexcept;
  CompletionWriter& operator=(CompletionWriter&& other) noexcept;
  ~CompletionWriter();

  // Maps the file the daemon laid out and takes its lock.
  static ::sgeventd::Expected<CompletionWriter, std::string> open(const std::string& path);
  void record(std::int64_t event_id);
  bool is_open() const { return base_ != nullptr; }

 private:
  int fd_ = -1;
  unsigned char* base_ = nullptr;
  std::size_t size_ = 0;
  std::uint32_t slots_ = 0;
  std::uint64_t count_ = 0;
};

// Creates the daemon's completions folder (0700) if it is missing; refuses one that is a
// symbolic link or not a folder.
::sgeventd::Expected<void, std::string> ensure_completions_dir(const std::string& path);

// The file name for a plugin in the daemon's completions folder: a hash of its key, so any
// path spelling maps to one short name.
std::string completion_file_name(const std::string& plugin_path, const std::string& plugin_name);

}  // namespace sgeventd::workers
