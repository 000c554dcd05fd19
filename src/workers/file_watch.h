// Hot reload: notices when a plugin's files change on disk (mtime, size or inode, so an
// editor's save-by-rename and a `touch` both count), as shotgunEvents re-imports a plugin
// whose mtime changed. The stat function is injected so the logic is tested without files.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sgeventd::workers {

struct FileStamp {
  bool exists = false;
  std::int64_t mtime_ns = 0;
  std::int64_t size = 0;
  std::uint64_t inode = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

// stat(2) of a path; a missing or unreadable file is {exists = false}.
FileStamp stat_file(const std::string& path);

class FileWatch {
 public:
  using StatFn = std::function<FileStamp(const std::string&)>;

  explicit FileWatch(std::vector<std::string> paths, StatFn stat = stat_file);

  // True once per change: compares with what the last call (or the constructor) saw.
  bool changed();
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  std::vector<std::string> paths_;
  StatFn stat_;
  std::vector<FileStamp> stamps_;
};

}  // namespace sgeventd::workers
