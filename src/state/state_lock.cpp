#include "state/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <utility>

namespace sgeventd::state {
namespace {

// The file: "<pid>\n", then "checkpoint <n>\n" once the holder made a durable checkpoint.
constexpr std::string_view kCheckpointLine = "checkpoint ";

std::string read_head(int fd) {
  char buf[96] = {};
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// The pid the holder wrote, or "" (it may not have written it yet, or the file is foreign).
std::string holder_pid(const std::string& head) {
  long pid = 0;
  auto [end, ec] = std::from_chars(head.data(), head.data() + head.size(), pid);
  if (ec != std::errc() || pid <= 0) return {};
  (void)end;
  return std::to_string(pid);
}

std::optional<std::uint64_t> recorded_checkpoint(const std::string& head) {
  const std::size_t line = head.find('\n');
  if (line == std::string::npos || head.compare(line + 1, kCheckpointLine.size(), kCheckpointLine))
    return std::nullopt;
  const char* from = head.data() + line + 1 + kCheckpointLine.size();
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(from, head.data() + head.size(), n);
  if (ec != std::errc() || end == head.data() + head.size() || *end != '\n') return std::nullopt;
  return n;
}

}  // namespace

StateResult<StateLock> StateLock::acquire(const std::string& lock_path) {
  // O_NOFOLLOW: a link planted at the lock's name is refused, never written through as root.
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    return state_error(StateErrorKind::kUnwritable, "cannot open the state lock file " + lock_path +
                                                        ": " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_nlink > 1) {
    ::close(fd);
    return state_error(StateErrorKind::kInvalidArgument,
                       "the state lock file " + lock_path +
                           " has another hard link: refused, so the daemon writes to no other "
                           "file through it (remove it; it is made again)");
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder = err == EWOULDBLOCK ? holder_pid(read_head(fd)) : std::string();
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
  const std::optional<std::uint64_t> previous = recorded_checkpoint(read_head(fd));
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t written = pwrite(fd, pid.data(), pid.size(), 0);
  }
  StateLock lock(fd, lock_path);
  lock.previous_checkpoint_ = previous;
  return lock;
}

void StateLock::record_checkpoint(std::uint64_t n) {
  if (fd_ < 0) return;
  const std::string text =
      std::to_string(getpid()) + "\n" + std::string(kCheckpointLine) + std::to_string(n) + "\n";
  if (pwrite(fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size())) {
    [[maybe_unused]] int cut = ftruncate(fd_, static_cast<off_t>(text.size()));
  }
}

StateLock::StateLock(StateLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      previous_checkpoint_(other.previous_checkpoint_) {}

StateLock& StateLock::operator=(StateLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    previous_checkpoint_ = other.previous_checkpoint_;
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
