// A log file rotated at local midnight, keeping a fixed number of old files: Python's
// TimedRotatingFileHandler(path, when="midnight", backupCount=10), which the original uses for
// every log file. Rotated files are named "<file>.YYYY-MM-DD" after the day they cover, and
// the first rollover after a restart is computed from the file's modification time, as Python
// does, so a file left from an earlier day is rotated by the first record written today.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

#include "log/line_sink.h"

namespace sgeventd::log {

using NowFunction = std::function<std::chrono::system_clock::time_point()>;

struct FileSinkOptions {
  std::filesystem::path path;
  int backup_count = 10;
  LineLayout layout = LineLayout::kFile;
  // Python flushes every record; the timing log, written once per callback run, instead
  // relies on flush() (warnings and above are always flushed at once).
  bool flush_every_line = true;
  NowFunction now;  // decides when midnight has passed; default: the system clock
};

class MidnightFileSink final : public LineSink {
 public:
  // Creates the folder if missing and opens the file for appending.
  static ::sgeventd::Expected<std::shared_ptr<MidnightFileSink>, std::string> open(
      FileSinkOptions options, std::shared_ptr<const Redactor> redactor);
  ~MidnightFileSink() override;

  const std::filesystem::path& path() const { return options_.path; }
  // Closes the file and opens its path again (logrotate moved it away: SIGUSR1). False when
  // it cannot be opened (records are then dropped until the next reopen or midnight).
  bool reopen();

  // Public for the constructor's use through std::make_shared; use open().
  MidnightFileSink(FileSinkOptions options, std::shared_ptr<const Redactor> redactor);

 private:
  ::sgeventd::Expected<void, std::string> open_file();
  void write_line(std::string_view line, spdlog::level::level_enum level) override;
  void flush_() override;
  void rotate(std::chrono::system_clock::time_point now);
  void delete_old_files();

  FileSinkOptions options_;
  std::FILE* file_ = nullptr;
  std::chrono::system_clock::time_point rollover_at_;
};

// The first local midnight strictly after `time` (DST aware).
std::chrono::system_clock::time_point next_local_midnight(
    std::chrono::system_clock::time_point time);

}  // namespace sgeventd::log
