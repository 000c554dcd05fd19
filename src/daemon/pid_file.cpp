#include "daemon/pid_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace sgeventd::daemon {
namespace {

std::optional<pid_t> read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return std::nullopt;
  char* end = nullptr;
  const long pid = std::strtol(buf, &end, 10);
  if (end == buf || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

}  // namespace

::sgeventd::Expected<PidFile, std::string> PidFile::acquire(const std::string& path) {
  // Its folder is made when missing (/run/sgeventd before the service made it, say).
  if (const auto folder = std::filesystem::path(path).parent_path(); !folder.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
  }
  // O_NOFOLLOW: a link planted at the pid file is refused (ELOOP), never written through as root.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return tl::unexpected("cannot open pid file " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const auto pid = read_pid(fd);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return tl::unexpected("another sgeventd is running" +
                            (pid ? " (pid " + std::to_string(*pid) + ")" : std::string()) +
                            " with pid file " + path);
    }
    return tl::unexpected("cannot lock pid file " + path + ": " + std::strerror(err));
  }
  // Ours now; whatever was written there before is stale.
  const std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return tl::unexpected("cannot write pid file " + path + ": " + std::strerror(err));
  }
  struct stat st {};
  ::fstat(fd, &st);
  return PidFile(path, fd, st.st_dev, st.st_ino);
}

PidFile::PidFile(PidFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), dev_(other.dev_), ino_(other.ino_) {
  other.fd_ = -1;
}

PidFile& PidFile::operator=(PidFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    dev_ = other.dev_;
    ino_ = other.ino_;
    other.fd_ = -1;
  }
  return *this;
}

PidFile::~PidFile() { release(); }

void PidFile::release() {
  if (fd_ < 0) return;
  if (!removed()) ::unlink(path_.c_str());
  ::close(fd_);  // releases the lock
  fd_ = -1;
}

bool PidFile::removed() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return true;
  return st.st_dev != dev_ || st.st_ino != ino_;
}

std::optional<pid_t> running_daemon(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<pid_t> pid;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    pid = read_pid(fd);  // locked: a live daemon
  } else {
    ::flock(fd, LOCK_UN);
  }
  ::close(fd);
  return pid;
}

}  // namespace sgeventd::daemon
