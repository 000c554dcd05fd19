#include "log/midnight_file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include <fmt/format.h>

#include "log/format.h"

namespace sgeventd::log {

namespace fs = std::filesystem;
using std::chrono::system_clock;

system_clock::time_point next_local_midnight(system_clock::time_point time) {
  std::time_t t = system_clock::to_time_t(time);
  std::tm tm{};
  localtime_r(&t, &tm);
  tm.tm_mday += 1;
  tm.tm_hour = 0;
  tm.tm_min = 0;
  tm.tm_sec = 0;
  tm.tm_isdst = -1;  // let mktime decide: the next day may be on the other side of a DST change
  return system_clock::from_time_t(std::mktime(&tm));
}

MidnightFileSink::MidnightFileSink(FileSinkOptions options,
                                   std::shared_ptr<const Redactor> redactor)
    : LineSink(options.layout, std::move(redactor)), options_(std::move(options)) {
  if (!options_.now) options_.now = [] { return system_clock::now(); };
}

MidnightFileSink::~MidnightFileSink() {
  if (file_ != nullptr) std::fclose(file_);
}

namespace {

// Logs quote events and errors: 0640, not the 0644 fopen would give.
std::FILE* open_for_append(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return nullptr;
  std::FILE* file = ::fdopen(fd, "a");
  if (file == nullptr) ::close(fd);
  return file;
}

}  // namespace

::sgeventd::Expected<std::shared_ptr<MidnightFileSink>, std::string> MidnightFileSink::open(
    FileSinkOptions options, std::shared_ptr<const Redactor> redactor) {
  std::error_code ec;
  // Absolute, so rotation still finds the file after the daemon changes directory.
  options.path = fs::absolute(options.path, ec);
  if (ec)
    return tl::unexpected(fmt::format("log file {}: {}", options.path.string(), ec.message()));
  fs::path folder = options.path.parent_path();
  if (!folder.empty() && !fs::exists(folder, ec)) {
    fs::create_directories(folder, ec);
    if (ec) {
      return tl::unexpected(
          fmt::format("cannot create the log folder {}: {}", folder.string(), ec.message()));
    }
  } else if (!folder.empty() && !fs::is_directory(folder, ec)) {
    return tl::unexpected(fmt::format("the log path {} is not a folder", folder.string()));
  }
  auto sink = std::make_shared<MidnightFileSink>(std::move(options), std::move(redactor));
  if (auto opened = sink->open_file(); !opened) return tl::unexpected(opened.error());
  return sink;
}

::sgeventd::Expected<void, std::string> MidnightFileSink::open_file() {
  // Python bases the first rollover on the existing file's modification time.
  struct stat st {};
  system_clock::time_point base = options_.now();
  if (::stat(options_.path.c_str(), &st) == 0) base = system_clock::from_time_t(st.st_mtime);
  file_ = open_for_append(options_.path);
  if (file_ == nullptr) {
    return tl::unexpected(fmt::format("cannot open the log file {}: {}", options_.path.string(),
                                      std::strerror(errno)));
  }
  rollover_at_ = next_local_midnight(base);
  return {};
}

void MidnightFileSink::write_line(std::string_view line, spdlog::level::level_enum level) {
  system_clock::time_point now = options_.now();
  if (now >= rollover_at_) rotate(now);
  if (file_ == nullptr) return;
  std::fwrite(line.data(), 1, line.size(), file_);
  if (options_.flush_every_line || level >= spdlog::level::warn) std::fflush(file_);
}

bool MidnightFileSink::reopen() {
  std::lock_guard lock(mutex_);
  if (file_ != nullptr) std::fclose(file_);
  file_ = open_for_append(options_.path);
  return file_ != nullptr;
}

void MidnightFileSink::flush_() {
  if (file_ != nullptr) std::fflush(file_);
}

void MidnightFileSink::rotate(system_clock::time_point now) {
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
  // Named after the day the file covers: the day before the rollover that is due.
  fs::path target = options_.path;
  target += "." + local_date(rollover_at_ - std::chrono::seconds(1));
  std::error_code ec;
  if (fs::exists(options_.path, ec)) {
    fs::remove(target, ec);
    fs::rename(options_.path, target, ec);
  }
  delete_old_files();
  file_ = open_for_append(options_.path);  // on failure, records are lost until tomorrow
  rollover_at_ = next_local_midnight(now);
}

void MidnightFileSink::delete_old_files() {
  if (options_.backup_count <= 0) return;  // Python: 0 keeps every file
  std::string prefix = options_.path.filename().string() + ".";
  std::vector<fs::path> rotated;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.path.parent_path(), ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() != prefix.size() + 10 || name.compare(0, prefix.size(), prefix) != 0) continue;
    std::string_view date = std::string_view(name).substr(prefix.size());
    bool is_date = true;
    for (std::size_t i = 0; i < date.size(); ++i) {
      bool dash = i == 4 || i == 7;
      is_date = is_date && (dash ? date[i] == '-' : (date[i] >= '0' && date[i] <= '9'));
    }
    if (is_date) rotated.push_back(entry.path());
  }
  auto keep = static_cast<std::size_t>(options_.backup_count);
  if (rotated.size() <= keep) return;
  std::sort(rotated.begin(), rotated.end());  // dates sort as text
  std::size_t excess = rotated.size() - keep;
  for (std::size_t i = 0; i < excess; ++i) fs::remove(rotated[i], ec);
}

}  // namespace sgeventd::log
