// One worker process: spawned with posix_spawn, stdin/stdout/stderr on non-blocking O_CLOEXEC
// pipes, its exit watched through a pidfd. It has no thread of its own: the owner polls the
// fds it exposes (poll_fds) and calls handle() with what poll returned, so one daemon thread
// drives any number of workers. A worker costs four fds and its buffers, no stack, and
// messages to many workers are batched into few syscalls (send() only buffers; flush() writes).
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

#include "workers/line_buffer.h"
#include "workers/worker_error.h"

namespace sgeventd::workers {

class ForkServer;

// Starts `argv` as the daemon starts every child: default signal dispositions, an empty signal
// mask, a process group of its own; stdio[i] becomes its fd i (-1: /dev/null); `env` is added
// to the daemon's environment. Registered in child_registry. The pid, or the errno.
::sgeventd::Expected<pid_t, int> spawn_child(
    const std::vector<std::string>& argv,
    const std::vector<std::pair<std::string, std::string>>& env, const std::string& working_dir,
    const std::array<int, 3>& stdio);

// What to run.
struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up on PATH
  // Added to (or replacing in) the daemon's environment.
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;  // empty: the daemon's
  // A hard cap on the process's writable private memory (RLIMIT_DATA: heap, anonymous maps,
  // thread stacks), set by the daemon just after the spawn; an allocation past it fails.
  std::optional<std::uint64_t> data_limit_bytes;
  // Fork the worker from this server (it runs argv[0] argv[1]) rather than spawn it; spawned
  // anyway when the server cannot be reached.
  std::shared_ptr<ForkServer> fork_server;

  // "prog arg1 'arg 2'" for logs.
  std::string describe() const;
};

class WorkerProcess {
 public:
  // What happened during handle(): the owner reacts after the call returns.
  struct Sink {
    std::function<void(std::string_view line)> on_line;    // one protocol line (no '\n')
    std::function<void(std::string_view line)> on_stderr;  // one stderr line (no '\n')
  };

  // Starts the program. Fails with kSpawnFailed (the message names the program and errno).
  static ::sgeventd::Expected<std::unique_ptr<WorkerProcess>, WorkerError> spawn(
      const SpawnSpec& spec, Sink sink);
  ~WorkerProcess();  // kills (SIGKILL) and reaps a process still running
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Queues one line (a '\n' is added). Nothing is written until flush().
  void send(std::string_view line);
  // Queues one line that `append(std::string&)` writes straight into the output buffer (no
  // intermediate string: events are most of the bytes the daemon writes).
  template <class Append>
  void compose(Append&& append) {
    if (in_fd_ < 0) return;
    reclaim_sent();
    append(out_);
    out_.push_back('\n');
  }
  // Writes what the pipe takes now; the rest waits for POLLOUT. Errors (the worker closed its
  // input) are recorded in error().
  void flush();
  bool wants_write() const { return out_.size() > out_sent_; }
  // Closes the worker's stdin (dropping anything queued): to the worker, the daemon is gone.
  void close_input();
  std::size_t queued_bytes() const { return out_.size() - out_sent_; }

  // The fds to poll right now (stdout, stderr, the pidfd, stdin while output is queued).
  void poll_fds(std::vector<pollfd>& fds) const;
  // Handles poll results for this process's fds (entries of other processes are ignored).
  void handle(const pollfd* fds, std::size_t count);
  // Reads whatever is available without waiting (also what handle() does on POLLIN).
  void read_available();

  // The first I/O or framing problem seen (a line too long, the input pipe closed, ...).
  const std::optional<WorkerError>& error() const { return error_; }
  // The process's own end of stdout was reached (EOF).
  bool output_closed() const { return out_fd_ < 0; }
  // Set once the process has ended and been reaped; output left in the pipes has been read,
  // and what was left of its process group (helpers it started) has been killed.
  const std::optional<ExitStatus>& exit_status() const { return exit_; }
  bool running() const { return !exit_.has_value(); }

  // Signals the process (race-free through the pidfd). SIGKILL also hits its process group,
  // so helpers a plugin started do not outlive it.
  void signal(int sig);
  // SIGTERM now, SIGKILL if it is still running at `kill_at` (call tick()).
  void terminate(std::chrono::steady_clock::time_point kill_at);
  // Enforces terminate()'s deadline.
  void tick(std::chrono::steady_clock::time_point now);
  std::optional<std::chrono::steady_clock::time_point> kill_deadline() const { return kill_at_; }

  // Resident set size in bytes from /proc/<pid>/statm; nullopt once it has ended.
  std::optional<std::uint64_t> rss_bytes() const;

 private:
  WorkerProcess() = default;
  // Each returns true when it stopped at its read budget (more may be waiting).
  bool read_stdout();
  void reclaim_sent();
  bool read_stderr();
  void reap();
  void set_error(WorkerError::Kind kind, std::string message);

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int in_fd_ = -1;   // the worker's stdin (we write)
  int out_fd_ = -1;  // the worker's stdout (we read)
  int err_fd_ = -1;  // the worker's stderr (we read)
  Sink sink_;
  LineBuffer out_lines_;
  LineBuffer err_lines_{64 * 1024};
  std::string out_;
  std::size_t out_sent_ = 0;
  std::optional<WorkerError> error_;
  std::optional<ExitStatus> exit_;
  std::optional<std::chrono::steady_clock::time_point> kill_at_;
};

}  // namespace sgeventd::workers
