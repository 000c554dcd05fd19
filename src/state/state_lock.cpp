#include "state/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

namespace sgeventd::state {
namespace {

// The pid the holder wrote, or "" (it may not have written it yet, or the file is foreign).
std::string read_holder_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return {};
  long pid = 0;
  auto [end, ec] = std::from_chars(buf, buf + n, pid);
  if (ec != std::errc() || pid <= 0) return {};
  (void)end;
  return std::to_string(pid);
}

}  // namespace

StateResult<StateLock> StateLock::acquire(const std::string& lock_path) {
  // O_NOFOLLOW: a link planted at the lock's name is refused, never written through as root.
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    return state_error(StateErrorKind::kUnwritable, "cannot open the state lock file " + lock_path +
                                                        ": " + std::strerror(errno));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder = err == EWOULDBLOCK ? read_holder_pid(fd) : std::string();
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return state_error(StateErrorKind::kUnwritable,
                         "cannot lock " + lock_path + ": " + std::strerror(err));
    }
    return state_error(StateErrorKind::kLocked,
                       "the state is in use by another sgeventd (" +
                           (holder.empty() ? std::string("pid unknown") : "pid " + holder) +
                           ", lock " + lock_path +
                           "); stop that daemon first, or give this one another eventIdFile");
  }
  // Ours now: record who holds it. A failure here costs only the pid in someone's message.
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t written = pwrite(fd, pid.data(), pid.size(), 0);
  }
  return StateLock(fd, lock_path);
}

StateLock::StateLock(StateLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

StateLock& StateLock::operator=(StateLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

StateLock::~StateLock() { release(); }

void StateLock::release() {
  if (fd_ < 0) return;
  // Closing drops the flock. The file stays: unlinking it would let a third process lock a
  // fresh inode while a second one still waits on the old one.
  ::close(fd_);
  fd_ = -1;
}

}  // namespace sgeventd::state
