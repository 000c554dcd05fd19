#include "workers/worker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "workers/child_registry.h"
#include "workers/fork_server.h"

extern char** environ;

namespace sgeventd::workers {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
// Write-buffer capacity kept once everything is written; more is given back.
constexpr std::size_t kKeptBufferBytes = 64 * 1024;
// Reads per fd per handle() call: enough to move megabytes, little enough that one chatty
// worker cannot starve the others sharing the loop.
constexpr int kReadsPerCall = 16;

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// A worker that dies while we write to it must not take the daemon down with SIGPIPE: writes
// then fail with EPIPE instead, which we handle. Children get the default back (SETSIGDEF).
void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      ::signal(SIGPIPE, SIG_IGN);
    }
  });
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

bool set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

std::vector<std::string> merged_environment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [k, v] : extra) overridden = overridden || k == name;
    if (!overridden) env.emplace_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

// Owns the three pipes until they are handed to the process (or spawning fails).
struct Pipes {
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  ~Pipes() { close_all(); }
  void close_all() {
    for (int* p : {in, out, err}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
  }
  bool open() {
    close_all();
    return ::pipe2(in, O_CLOEXEC) == 0 && ::pipe2(out, O_CLOEXEC) == 0 &&
           ::pipe2(err, O_CLOEXEC) == 0;
  }
};

std::string quote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_of(" \t\n'\"\\$`") == std::string::npos) return arg;
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string SpawnSpec::describe() const {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    out += quote(arg);
  }
  return out;
}

::sgeventd::Expected<pid_t, int> spawn_child(
    const std::vector<std::string>& argv,
    const std::vector<std::pair<std::string, std::string>>& env_extra,
    const std::string& working_dir, const std::array<int, 3>& stdio) {
  if (argv.empty() || argv[0].empty()) return tl::unexpected(ENOENT);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int target = 0; target < 3; ++target) {
    if (stdio[target] >= 0) {
      posix_spawn_file_actions_adddup2(&actions, stdio[target], target);
    } else {
      posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target ? O_WRONLY : O_RDONLY,
                                       0);
    }
  }
  if (!working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, working_dir.c_str());

  // Default signal dispositions and an empty mask in the child whatever the daemon set up
  // (SIGPIPE ignored, signals blocked for a signalfd); its own process group so a kill can
  // reach the helpers it starts, and a terminal's Ctrl-C reaches only the daemon.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  std::vector<std::string> env = merged_environment(env_extra);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  const bool search_path = argv[0].find('/') == std::string::npos;
  int rc = 0;
  {
    std::lock_guard registering(child_registry::mutex());
    rc = search_path ? ::posix_spawnp(&pid, argp[0], &actions, &attr, argp.data(), envp.data())
                     : ::posix_spawn(&pid, argp[0], &actions, &attr, argp.data(), envp.data());
    if (rc == 0) child_registry::add(pid);
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return tl::unexpected(rc);
  return pid;
}

::sgeventd::Expected<std::unique_ptr<WorkerProcess>, WorkerError> WorkerProcess::spawn(
    const SpawnSpec& spec, Sink sink) {
  auto failed = [&](const std::string& what, int err) {
    return tl::unexpected(WorkerError{WorkerError::Kind::kSpawnFailed,
                                      spec.describe() + ": " + what + ": " + std::strerror(err),
                                      std::nullopt});
  };
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return tl::unexpected(
        WorkerError{WorkerError::Kind::kSpawnFailed, "no command to run", std::nullopt});
  }
  ignore_sigpipe_once();

  Pipes pipes;
  if (!pipes.open()) return failed("pipe", errno);

  pid_t pid = -1;
  bool forked = false;
  if (spec.fork_server && spec.working_dir.empty() && spec.argv.size() >= 2) {
    // The server runs argv[0] argv[1] (interpreter, script); the rest are the worker's own.
    const std::vector<std::string> args(spec.argv.begin() + 2, spec.argv.end());
    auto child = spec.fork_server->fork_worker(pipes.in[0], pipes.out[1], pipes.err[1], args);
    if (child) {
      pid = *child;
      forked = true;
    } else if (!pipes.open()) {
      // The server said why (its Reporter); the worker is spawned the usual way instead, on
      // new pipes: one the server forked anyway must not share them, and ends at their EOF.
      return failed("pipe", errno);
    }
  }
  if (!forked) {
    auto child = spawn_child(spec.argv, spec.env, spec.working_dir,
                             {pipes.in[0], pipes.out[1], pipes.err[1]});
    if (!child) return failed("cannot start", child.error());
    pid = *child;
  }

  if (spec.data_limit_bytes) {
    // posix_spawn cannot set a limit in the child, so it is set from here the moment the
    // child exists: what it maps before that (a few pages of exec) is all it gets unlimited.
    const rlimit cap{*spec.data_limit_bytes, *spec.data_limit_bytes};
    if (::prlimit(pid, RLIMIT_DATA, &cap, nullptr) != 0) {
      const int err = errno;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      child_registry::remove(pid);
      return failed("cannot set its memory limit (prlimit)", err);
    }
  }

  std::unique_ptr<WorkerProcess> p(new WorkerProcess());
  p->pid_ = pid;
  p->sink_ = std::move(sink);
  // The child is not reaped until we wait for it, so its pid cannot be reused before this.
  p->pidfd_ = pidfd_open(pid);
  if (p->pidfd_ < 0) {
    const int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    child_registry::remove(pid);
    p->pid_ = -1;
    return failed("pidfd_open", err);
  }
  if (forked) {
    // Reparented to us only if we are a subreaper: check, since waiting needs a child.
    siginfo_t info{};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(p->pidfd_), &info,
                 WEXITED | WNOHANG | WNOWAIT) != 0 &&
        errno == ECHILD) {
      ::kill(pid, SIGKILL);
      child_registry::remove(pid);
      p->pid_ = -1;
      return failed("the fork server's worker is not our child (no subreaper)", ECHILD);
    }
  }
  std::swap(p->in_fd_, pipes.in[1]);
  std::swap(p->out_fd_, pipes.out[0]);
  std::swap(p->err_fd_, pipes.err[0]);
  for (int fd : {p->in_fd_, p->out_fd_, p->err_fd_}) {
    if (!set_nonblocking(fd)) return failed("fcntl", errno);  // ~WorkerProcess cleans up
  }
  return p;
}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0 && !exit_) {
    signal(SIGKILL);  // the whole group: not yet reaped, so the group id is still ours
    siginfo_t info{};
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info, WEXITED);
    child_registry::remove(pid_);
  }
  close_fd(in_fd_);
  close_fd(out_fd_);
  close_fd(err_fd_);
  close_fd(pidfd_);
}

void WorkerProcess::send(std::string_view line) {
  if (in_fd_ < 0) return;  // already failed; error() says why
  reclaim_sent();
  out_.append(line);
  out_.push_back('\n');
}

void WorkerProcess::reclaim_sent() {
  // Drop the prefix already written before appending, so the buffer stays about one window
  // long even when the pipe is never drained completely.
  if (out_sent_ == 0) return;
  if (out_sent_ == out_.size()) {
    out_.clear();
  } else if (out_sent_ >= out_.size() / 2) {
    out_.erase(0, out_sent_);
  } else {
    return;
  }
  out_sent_ = 0;
}

void WorkerProcess::flush() {
  while (in_fd_ >= 0 && out_sent_ < out_.size()) {
    const ssize_t n = ::write(in_fd_, out_.data() + out_sent_, out_.size() - out_sent_);
    if (n > 0) {
      out_sent_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // EPIPE: the worker closed its input (or died); its exit will tell more.
    set_error(WorkerError::Kind::kExited,
              std::string("writing to the worker failed: ") + std::strerror(errno));
    close_input();
    return;
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
    // A burst (or one huge event) leaves capacity behind; an idle daemon with many workers
    // should not keep it.
    if (out_.capacity() > kKeptBufferBytes) out_.shrink_to_fit();
  }
}

void WorkerProcess::close_input() {
  close_fd(in_fd_);
  out_.clear();
  out_sent_ = 0;
}

void WorkerProcess::poll_fds(std::vector<pollfd>& fds) const {
  if (out_fd_ >= 0) fds.push_back({out_fd_, POLLIN, 0});
  if (err_fd_ >= 0) fds.push_back({err_fd_, POLLIN, 0});
  if (pidfd_ >= 0 && !exit_) fds.push_back({pidfd_, POLLIN, 0});
  if (in_fd_ >= 0 && wants_write()) fds.push_back({in_fd_, POLLOUT, 0});
}

void WorkerProcess::handle(const pollfd* fds, std::size_t count) {
  bool exited = false;
  for (std::size_t i = 0; i < count; ++i) {
    const pollfd& f = fds[i];
    if (f.revents == 0 || f.fd < 0) continue;
    if (f.fd == out_fd_)
      read_stdout();
    else if (f.fd == err_fd_)
      read_stderr();
    else if (f.fd == in_fd_) {
      if (f.revents & (POLLERR | POLLHUP)) {
        set_error(WorkerError::Kind::kExited, "the worker closed its input");
        close_input();
      } else {
        flush();
      }
    } else if (f.fd == pidfd_)
      exited = true;
  }
  if (exited) reap();
}

void WorkerProcess::read_available() {
  read_stdout();
  read_stderr();
}

// One read buffer for all the workers a thread drives: complete lines are handled straight
// from it, only partial lines are kept per worker (LineBuffer::feed).
static char* scratch() {
  thread_local std::unique_ptr<char[]> buffer(new char[kReadChunk]);
  return buffer.get();
}

bool WorkerProcess::read_stdout() {
  for (int i = 0; i < kReadsPerCall && out_fd_ >= 0; ++i) {
    char* buf = scratch();
    const ssize_t n = ::read(out_fd_, buf, kReadChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n <= 0) {
      close_fd(out_fd_);  // EOF (or an error, which means the same here)
      return false;
    }
    const bool fits = out_lines_.feed(std::string_view(buf, static_cast<std::size_t>(n)),
                                      [this](std::string_view line) {
                                        if (sink_.on_line) sink_.on_line(line);
                                      });
    if (!fits) {
      set_error(WorkerError::Kind::kProtocol, "a line longer than 16 MiB on standard output");
      out_lines_.take_rest();
      close_fd(out_fd_);
      return false;
    }
  }
  return out_fd_ >= 0;
}

bool WorkerProcess::read_stderr() {
  for (int i = 0; i < kReadsPerCall && err_fd_ >= 0; ++i) {
    char* buf = scratch();
    const ssize_t n = ::read(err_fd_, buf, kReadChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n <= 0) {
      close_fd(err_fd_);
      const std::string rest = err_lines_.take_rest();
      if (!rest.empty() && sink_.on_stderr) sink_.on_stderr(rest);
      return false;
    }
    // Not an error on stderr: an overlong line is logged in pieces.
    err_lines_.feed(
        std::string_view(buf, static_cast<std::size_t>(n)),
        [this](std::string_view line) {
          if (sink_.on_stderr) sink_.on_stderr(line);
        },
        true);
  }
  return err_fd_ >= 0;
}

void WorkerProcess::reap() {
  siginfo_t info{};
  // WNOWAIT first: while the ended worker is a zombie its pid, and so its process group id,
  // cannot be reused, so the group kill below reaches only helpers it started (a helper that
  // called setsid or setpgid left the group on purpose: docs/plugin-protocol.md).
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info,
               WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid == 0) {
    return;  // spurious wake-up: not ended yet
  }
  ::kill(-pid_, SIGKILL);
  ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info, WEXITED);
  child_registry::remove(pid_);
  ExitStatus status;
  if (info.si_code == CLD_EXITED) {
    status.code = info.si_status;
  } else {
    status.signal = info.si_status;
  }
  // Its last lines may still sit in the pipes: read them before reporting the end. A helper
  // it left behind may hold the pipes open, so read only what is there now.
  // (Bounded: a pipe holds little, but a helper could keep writing.)
  for (int i = 0; i < 64 && read_stdout(); ++i) {
  }
  for (int i = 0; i < 64 && read_stderr(); ++i) {
  }
  if (err_fd_ >= 0) {
    const std::string rest = err_lines_.take_rest();
    if (!rest.empty() && sink_.on_stderr) sink_.on_stderr(rest);
  }
  close_fd(out_fd_);
  close_fd(err_fd_);
  close_input();
  exit_ = status;
  kill_at_.reset();
}

void WorkerProcess::signal(int sig) {
  if (exit_ || pidfd_ < 0) return;
  pidfd_send_signal(pidfd_, sig);
  // Not yet reaped, so the group id (our pid) cannot belong to anyone else.
  if (sig == SIGKILL) ::kill(-pid_, SIGKILL);
}

void WorkerProcess::terminate(std::chrono::steady_clock::time_point kill_at) {
  if (exit_) return;
  signal(SIGTERM);
  if (!kill_at_ || kill_at < *kill_at_) kill_at_ = kill_at;
}

void WorkerProcess::tick(std::chrono::steady_clock::time_point now) {
  if (kill_at_ && now >= *kill_at_ && !exit_) {
    signal(SIGKILL);
    kill_at_.reset();
  }
}

std::optional<std::uint64_t> WorkerProcess::rss_bytes() const {
  if (exit_ || pid_ <= 0) return std::nullopt;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/statm", static_cast<int>(pid_));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char text[128];
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  text[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(text, "%llu %llu", &size, &resident) != 2) return std::nullopt;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

void WorkerProcess::set_error(WorkerError::Kind kind, std::string message) {
  if (!error_) error_ = WorkerError{kind, std::move(message), std::nullopt};
}

}  // namespace sgeventd::workers
