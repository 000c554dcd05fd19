// The store across process death and hostile file systems: kill -9 at random points of a
// commit loop, a second daemon, a lock held by a killed process, a full disk, a read-only
// state. Children are forked (this test process runs no threads); every wait is bounded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include "state/sqlite_state_store.h"
#include "state/state_test_support.h"

namespace sgeventd::state {
namespace {

using testing::TempDir;
using namespace std::chrono_literals;

constexpr int kPlugins = 10;

PluginKey plugin(int i) {
  return PluginKey{"/plugins/p" + std::to_string(i) + ".py", "p" + std::to_string(i)};
}

// A forked child, killed (SIGKILL) and reaped when the test is done with it.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() { kill_and_reap(); }
  pid_t pid() const { return pid_; }
  void kill_and_reap() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // The exit code, or -1 if it did not exit within the bound (it is then killed).
  int wait_exit(std::chrono::milliseconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(2ms);
    }
    kill_and_reap();
    return -1;
  }

 private:
  pid_t pid_;
};

// Reads one int64 from fd within the bound; nullopt on timeout or end of file.
std::optional<std::int64_t> read_value(int fd, std::chrono::milliseconds bound) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(bound.count())) <= 0) return std::nullopt;
  std::int64_t v = 0;
  std::size_t got = 0;
  while (got < sizeof v) {
    const ssize_t n = ::read(fd, reinterpret_cast<char*>(&v) + got, sizeof v - got);
    if (n <= 0) return std::nullopt;
    got += static_cast<std::size_t>(n);
  }
  return v;
}

void write_value(int fd, std::int64_t v) { [[maybe_unused]] ssize_t n = ::write(fd, &v, sizeof v); }

// The child of the kill -9 test: advances all cursors together, forever, reporting each
// value once its commit has returned. Never returns.
[[noreturn]] void commit_forever(const std::string& path, int report_fd) {
  auto store = SqliteStateStore::open(path);
  if (!store) ::_exit(3);
  auto first = (*store)->plugin(plugin(0));
  if (!first) ::_exit(4);
  std::int64_t value = *first && (*first)->cursor ? *(*first)->cursor : 0;
  const WallTime t0 = wall_now();
  for (std::int64_t n = 1;; ++n) {
    ++value;
    StateBatch batch;
    for (int i = 0; i < kPlugins; ++i) batch.advance_cursor(plugin(i), value);
    // Some of everything else too, so kills land in every kind of write.
    if (n % 5 == 0) batch.add_gap(plugin(n % kPlugins), Gap{value + 1, value + 2, t0, t0});
    if (n % 5 == 1) batch.remove_gap_ids(plugin((n - 1) % kPlugins), value, value + 1);
    if (n % 13 == 0) {
      DeadLetter d;
      d.plugin = plugin(1);
      d.callback = "cb";
      d.event_id = value;
      d.event_json = std::string(300, 'e');
      d.error = "boom";
      d.attempts = 1;
      batch.park_dead_letter(d);
    }
    if (!(*store)->commit(batch)) ::_exit(5);
    write_value(report_fd, value);
    if (n % 37 == 0 && !(*store)->checkpoint()) ::_exit(6);
  }
}

TEST(StateCrash, KillNineNeverLosesOrTearsACommit) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  std::mt19937 rng(20240304);
  std::int64_t last_seen = 0;
  int in_flight_found = 0;  // kills that landed after a commit but before its report
  for (int round = 0; round < 30; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      commit_forever(path, fds[1]);
    }
    ::close(fds[1]);
    Child child(pid);

    // Let it commit a random number of times, then kill it at a random moment after that.
    const int commits = 1 + static_cast<int>(rng() % 150);
    std::int64_t reported = 0;
    for (int i = 0; i < commits; ++i) {
      auto v = read_value(fds[0], 10s);
      ASSERT_TRUE(v) << "round " << round << ": the child stopped committing (exit code "
                     << child.wait_exit(1s) << ")";
      ASSERT_GT(*v, reported);
      reported = *v;
    }
    const auto spin_until =
        std::chrono::steady_clock::now() + std::chrono::microseconds(rng() % 3000);
    while (std::chrono::steady_clock::now() < spin_until) {
    }
    child.kill_and_reap();
    // Values reported before the kill landed count as committed too.
    while (auto v = read_value(fds[0], 0ms)) reported = *v;
    ::close(fds[0]);

    auto store = SqliteStateStore::open(path);
    ASSERT_TRUE(store) << "round " << round << ": " << store.error().describe();
    auto all = (*store)->plugins();
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), static_cast<std::size_t>(kPlugins));
    const std::optional<EventId> cursor = (*all)[0].cursor;
    ASSERT_TRUE(cursor);
    for (const PluginState& p : *all) {
      EXPECT_EQ(p.cursor, cursor) << "round " << round << ": a torn batch";
    }
    // Every commit that returned is there; at most the one in flight is there too.
    EXPECT_GE(*cursor, reported) << "round " << round;
    EXPECT_LE(*cursor, reported + 1) << "round " << round;
    EXPECT_GE(*cursor, last_seen);
    last_seen = *cursor;
    if (*cursor == reported + 1) ++in_flight_found;
  }
  RecordProperty("in_flight_found", in_flight_found);
  std::printf("kills that found the in-flight commit already durable: %d of 30\n", in_flight_found);
}

TEST(StateCrash, ASecondProcessIsRefusedAndAKilledHolderFreesTheLock) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto store = SqliteStateStore::open(path);
    if (!store) ::_exit(3);
    write_value(fds[1], 1);
    ::alarm(60);  // never outlives a broken test run
    while (true) ::pause();
  }
  ::close(fds[1]);
  Child child(pid);
  ASSERT_TRUE(read_value(fds[0], 10s)) << "the first daemon did not open its state";
  ::close(fds[0]);

  auto second = SqliteStateStore::open(path);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, StateErrorKind::kLocked);
  EXPECT_NE(second.error().message.find("pid " + std::to_string(pid)), std::string::npos)
      << second.error().message;

  child.kill_and_reap();
  auto after = SqliteStateStore::open(path);
  EXPECT_TRUE(after) << after.error().describe();
}

// A full disk (here: a file size limit, which fails writes the same way) makes commit fail
// and leaves the state as it was; when space returns, commits work again.
TEST(StateCrash, AFullDiskIsACommitErrorAndNothingIsTorn) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = SqliteStateStore::open(path);
    if (!store) ::_exit(10);
    if (!(*store)->commit(StateBatch().advance_cursor(plugin(0), 1))) ::_exit(11);
    ::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of dying
    rlimit limit{};
    ::getrlimit(RLIMIT_FSIZE, &limit);
    rlimit small = limit;
    small.rlim_cur = 256 * 1024;
    if (::setrlimit(RLIMIT_FSIZE, &small) != 0) ::_exit(12);
    std::int64_t value = 1;
    std::optional<StateError> failure;
    for (int i = 0; i < 1000 && !failure; ++i) {
      StateBatch batch;
      batch.advance_cursor(plugin(0), value + 1);
      DeadLetter d;
      d.plugin = plugin(0);
      d.callback = "cb";
      d.event_id = value + 1;
      d.event_json = std::string(20000, 'x');
      d.attempts = 1;
      batch.park_dead_letter(d);
      auto r = (*store)->commit(batch);
      if (r) {
        ++value;
      } else {
        failure = r.error();
      }
    }
    if (!failure) ::_exit(13);
    std::fprintf(stderr, "commit on a full disk: %s\n", failure->describe().c_str());
    if (failure->kind != StateErrorKind::kUnwritable) ::_exit(14);
    auto p = (*store)->plugin(plugin(0));
    if (!p || !*p || (*p)->cursor != value) ::_exit(15);
    // Space is back.
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(16);
    if (!(*store)->commit(StateBatch().advance_cursor(plugin(0), value + 1))) ::_exit(17);
    if (!(*store)->checkpoint()) ::_exit(18);
    ::_exit(0);
  }
  Child child(pid);
  EXPECT_EQ(child.wait_exit(60s), 0);
  auto store = SqliteStateStore::open(path);
  ASSERT_TRUE(store) << store.error().describe();
  auto p = (*store)->plugin(plugin(0));
  ASSERT_TRUE(p && *p);
  EXPECT_TRUE((*p)->cursor);
}

// 0 when a state the process may not write makes open or commit fail with kUnwritable.
int read_only_check(const std::string& path) {
  auto store = SqliteStateStore::open(path);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().describe().c_str());
    return store.error().kind == StateErrorKind::kUnwritable ? 0 : 20;
  }
  auto r = (*store)->commit(StateBatch().advance_cursor(plugin(0), 2));
  if (r) return 21;
  std::fprintf(stderr, "commit: %s\n", r.error().describe().c_str());
  return r.error().kind == StateErrorKind::kUnwritable ? 0 : 22;
}

TEST(StateCrash, AReadOnlyStateIsAnError) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto store = SqliteStateStore::open(path);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->commit(StateBatch().advance_cursor(plugin(0), 1)));
  }
  // The lock stays takeable, so what fails is writing the database itself.
  ASSERT_EQ(::chmod((path + ".lock").c_str(), 0666), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0444), 0);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);
  if (::geteuid() != 0) {
    EXPECT_EQ(read_only_check(path), 0);
  } else {
    // Root writes through permissions: check as nobody.
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(30);
      ::_exit(read_only_check(path));
    }
    Child child(pid);
    EXPECT_EQ(child.wait_exit(30s), 0);
  }
  ::chmod(dir.path().c_str(), 0700);
  ::chmod(path.c_str(), 0644);
  // Nothing was changed.
  auto store = SqliteStateStore::open(path);
  ASSERT_TRUE(store) << store.error().describe();
  EXPECT_EQ((*(*store)->plugin(plugin(0)))->cursor, 1);
}

}  // namespace
}  // namespace sgeventd::state
