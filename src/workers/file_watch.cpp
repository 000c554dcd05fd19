#include "workers/file_watch.h"

#include <sys/stat.h>

namespace sgeventd::workers {

FileStamp stat_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  FileStamp s;
  s.exists = true;
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.size = static_cast<std::int64_t>(st.st_size);
  s.inode = static_cast<std::uint64_t>(st.st_ino);
  return s;
}

FileWatch::FileWatch(std::vector<std::string> paths, StatFn stat)
    : paths_(std::move(paths)), stat_(std::move(stat)) {
  for (const auto& p : paths_) stamps_.push_back(stat_(p));
}

bool FileWatch::changed() {
  bool any = false;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    FileStamp now = stat_(paths_[i]);
    if (!(now == stamps_[i])) {
      stamps_[i] = now;
      any = true;
    }
  }
  return any;
}

}  // namespace sgeventd::workers
