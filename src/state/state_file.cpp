#include "state/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace sgeventd::state::files {
namespace {

tl::unexpected<StateError> io_error(const std::string& what) {
  return state_error(StateErrorKind::kUnwritable, what + ": " + std::strerror(errno));
}

std::string folder_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

StateResult<void> fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open " + path + " to sync it");
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  errno = err;
  if (rc != 0) return io_error("cannot sync " + path);
  return {};
}

}  // namespace

StateResult<Content> classify(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Content::kMissing;
    return io_error("cannot inspect the state file " + path);
  }
  if (!S_ISREG(st.st_mode)) {
    return state_error(StateErrorKind::kCorrupt, path + " is not a regular file");
  }
  if (st.st_size == 0) return Content::kEmpty;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot read the state file " + path);
  char header[16] = {};
  const ssize_t n = ::read(fd, header, sizeof header);
  ::close(fd);
  static constexpr char kSqliteHeader[16] = "SQLite format 3";  // with its NUL: 16 bytes
  if (n == static_cast<ssize_t>(sizeof header) && std::memcmp(header, kSqliteHeader, 16) == 0) {
    return Content::kSqlite;
  }
  return Content::kOther;
}

StateResult<std::string> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot read " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return io_error("cannot read " + path);
  return bytes;
}

void remove_database(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    ::unlink((path + suffix).c_str());
  }
}

StateResult<void> durable_rename(const std::string& from, const std::string& to) {
  if (auto synced = fsync_path(from, O_RDONLY); !synced) return synced;
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return io_error("cannot rename " + from + " to " + to);
  }
  return fsync_path(folder_of(to), O_RDONLY | O_DIRECTORY);
}

StateResult<void> durable_link(const std::string& from, const std::string& to) {
  if (::unlink(to.c_str()) != 0 && errno != ENOENT) return io_error("cannot replace " + to);
  if (::link(from.c_str(), to.c_str()) != 0) {
    return io_error("cannot keep " + from + " as " + to);
  }
  return fsync_path(folder_of(to), O_RDONLY | O_DIRECTORY);
}

}  // namespace sgeventd::state::files
