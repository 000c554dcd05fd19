#include "workers/completion_log.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>

namespace sgeventd::workers {

static_assert(std::endian::native == std::endian::little, "the file layout is little-endian");

namespace {

constexpr char kMagic[8] = {'S', 'G', 'E', 'V', 'D', 'O', 'N', 'E'};
constexpr std::size_t kCountAt = 16;

std::size_t file_size(std::uint32_t slots) {
  return kCompletionHeader + kCompletionRecord * static_cast<std::size_t>(slots);
}

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// A file descriptor closed at scope exit (closing it also drops any lock this process holds
// on the file).
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct Header {
  std::uint32_t slots = 0;
  std::uint64_t count = 0;
};

// nullopt when `bytes` is not a valid completion file of `size` bytes.
std::optional<Header> parse_header(const unsigned char* bytes, std::size_t size) {
  if (size < kCompletionHeader || std::memcmp(bytes, kMagic, sizeof kMagic) != 0) return {};
  std::uint32_t version = 0;
  Header h;
  std::memcpy(&version, bytes + 8, 4);
  std::memcpy(&h.slots, bytes + 12, 4);
  std::memcpy(&h.count, bytes + kCountAt, 8);
  if (version != kCompletionVersion || h.slots == 0 || size != file_size(h.slots)) return {};
  return h;
}

std::vector<std::int64_t> parse_records(const unsigned char* bytes, const Header& h) {
  std::vector<std::int64_t> ids;
  const std::uint64_t first = h.count > h.slots ? h.count - h.slots : 0;
  ids.reserve(static_cast<std::size_t>(h.count - first));
  for (std::uint64_t n = first; n < h.count; ++n) {
    const unsigned char* r = bytes + kCompletionHeader + kCompletionRecord * (n % h.slots);
    std::int64_t id = 0;
    std::uint64_t ordinal = 0;
    std::memcpy(&id, r, 8);
    std::memcpy(&ordinal, r + 8, 8);
    if (ordinal == n + 1) ids.push_back(id);
  }
  return ids;
}

bool read_all(int fd, std::vector<unsigned char>& into, std::size_t size) {
  into.resize(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, into.data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool lay_out(int fd) {
  unsigned char header[kCompletionHeader] = {};
  std::memcpy(header, kMagic, sizeof kMagic);
  const std::uint32_t version = kCompletionVersion, slots = kCompletionSlots;
  std::memcpy(header + 8, &version, 4);
  std::memcpy(header + 12, &slots, 4);
  // Truncating to 0 first zeroes every old record (an old ordinal could otherwise match).
  if (::ftruncate(fd, 0) != 0 || ::ftruncate(fd, static_cast<off_t>(file_size(slots))) != 0) {
    return false;
  }
  return ::pwrite(fd, header, sizeof header, 0) == static_cast<ssize_t>(sizeof header);
}

int open_regular(const std::string& path, int flags, std::string& error) {
  const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = errno == ELOOP ? path + " is a symbolic link: refusing to follow it"
                           : errno_text("cannot open", path);
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error = path + " is not a regular file";
    return -1;
  }
  return fd;
}

struct flock whole_file_lock(short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  return fl;
}

}  // namespace

::sgeventd::Expected<TakeOver, std::string> take_over_completions(const std::string& path,
                                                                  bool reset,
                                                                  std::chrono::milliseconds wait) {
  std::string error;
  Fd f{open_regular(path, O_RDWR | O_CREAT, error)};
  if (f.fd < 0) return tl::unexpected(error);
  TakeOver out;
  // A worker of an earlier daemon may still run (a killed daemon's workers only notice when
  // they next write to it) and note completions: it must be gone before the file is read.
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    struct flock fl = whole_file_lock(F_WRLCK);
    if (::fcntl(f.fd, F_SETLK, &fl) == 0) break;
    if (errno != EAGAIN && errno != EACCES) return tl::unexpected(errno_text("cannot lock", path));
    struct flock holder = whole_file_lock(F_WRLCK);
    if (::fcntl(f.fd, F_GETLK, &holder) == 0 && holder.l_type != F_UNLCK && holder.l_pid > 0 &&
        holder.l_pid != ::getpid() && out.stopped != holder.l_pid) {
      out.stopped = holder.l_pid;
      // Workers lead their own process group: the helpers it started go with it.
      if (::kill(-holder.l_pid, SIGKILL) != 0) ::kill(holder.l_pid, SIGKILL);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return tl::unexpected(path + " is still locked by process " + std::to_string(out.stopped) +
                            " after SIGKILL");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return tl::unexpected(errno_text("cannot stat", path));
  std::vector<unsigned char> bytes;
  std::optional<Header> header;
  if (!reset && st.st_size > 0 && read_all(f.fd, bytes, static_cast<std::size_t>(st.st_size))) {
    header = parse_header(bytes.data(), bytes.size());
  }
  if (!header) {
    out.was_reset = st.st_size > 0;
    if (!lay_out(f.fd)) return tl::unexpected(errno_text("cannot write", path));
    return out;
  }
  out.ids = parse_records(bytes.data(), *header);
  return out;
}

::sgeventd::Expected<std::vector<std::int64_t>, std::string> read_completions(
    const std::string& path) {
  std::string error;
  Fd f{open_regular(path, O_RDONLY, error)};
  if (f.fd < 0) {
    if (errno == ENOENT) return std::vector<std::int64_t>{};
    return tl::unexpected(error);
  }
  struct stat st {};
  std::vector<unsigned char> bytes;
  if (::fstat(f.fd, &st) != 0 || !read_all(f.fd, bytes, static_cast<std::size_t>(st.st_size))) {
    return tl::unexpected(errno_text("cannot read", path));
  }
  const auto header = parse_header(bytes.data(), bytes.size());
  if (!header) return std::vector<std::int64_t>{};
  return parse_records(bytes.data(), *header);
}

CompletionWriter::CompletionWriter(CompletionWriter&& other) noexcept { *this = std::move(other); }

CompletionWriter& CompletionWriter::operator=(CompletionWriter&& other) noexcept {
  if (this != &other) {
    this->~CompletionWriter();
    fd_ = std::exchange(other.fd_, -1);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    slots_ = other.slots_;
    count_ = other.count_;
  }
  return *this;
}

CompletionWriter::~CompletionWriter() {
  if (base_) ::munmap(base_, size_);
  if (fd_ >= 0) ::close(fd_);
  base_ = nullptr;
  fd_ = -1;
}

::sgeventd::Expected<CompletionWriter, std::string> CompletionWriter::open(
    const std::string& path) {
  std::string error;
  CompletionWriter w;
  w.fd_ = open_regular(path, O_RDWR, error);
  if (w.fd_ < 0) return tl::unexpected(error);
  struct flock fl = whole_file_lock(F_WRLCK);
  if (::fcntl(w.fd_, F_SETLK, &fl) != 0) {
    return tl::unexpected(path + " is locked by another process");
  }
  struct stat st {};
  if (::fstat(w.fd_, &st) != 0) return tl::unexpected(errno_text("cannot stat", path));
  w.size_ = static_cast<std::size_t>(st.st_size);
  void* base = ::mmap(nullptr, w.size_, PROT_READ | PROT_WRITE, MAP_SHARED, w.fd_, 0);
  if (base == MAP_FAILED) return tl::unexpected(errno_text("cannot map", path));
  w.base_ = static_cast<unsigned char*>(base);
  const auto header = parse_header(w.base_, w.size_);
  if (!header) return tl::unexpected(path + " is not a completion file");
  w.slots_ = header->slots;
  w.count_ = header->count;
  return w;
}

void CompletionWriter::record(std::int64_t event_id) {
  if (!base_) return;
  unsigned char* r = base_ + kCompletionHeader + kCompletionRecord * (count_ % slots_);
  const std::uint64_t ordinal = count_ + 1;
  std::memcpy(r, &event_id, 8);
  std::memcpy(r + 8, &ordinal, 8);
  ++count_;
  // The count moves only once its record is whole (a kill in between leaves it uncounted).
  __atomic_store_n(reinterpret_cast<std::uint64_t*>(base_ + kCountAt), count_, __ATOMIC_RELEASE);
}

::sgeventd::Expected<void, std::string> ensure_completions_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return tl::unexpected(errno_text("cannot create", path));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return tl::unexpected(errno_text("cannot stat", path));
  if (S_ISLNK(st.st_mode)) return tl::unexpected(path + " is a symbolic link: refusing it");
  if (!S_ISDIR(st.st_mode)) return tl::unexpected(path + " is not a folder");
  return {};
}

std::string completion_file_name(const std::string& plugin_path, const std::string& plugin_name) {
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a
  auto mix = [&hash](unsigned char c) {
    hash ^= c;
    hash *= 1099511628211ULL;
  };
  for (unsigned char c : plugin_path) mix(c);
  mix(0);
  for (unsigned char c : plugin_name) mix(c);
  std::string readable;
  for (char c : plugin_name) {
    if (readable.size() >= 40) break;
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '-';
    readable += plain ? c : '_';
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return readable + "-" + hex + ".done";
}

}  // namespace sgeventd::workers
