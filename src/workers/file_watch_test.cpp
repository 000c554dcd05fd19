#include "workers/file_watch.h"

#include <gtest/gtest.h>

#include <map>

namespace sgeventd::workers {
namespace {

TEST(FileWatch, ReportsEachChangeOnce) {
  std::map<std::string, FileStamp> files{{"a.py", {true, 1, 10, 1}}, {"b", {true, 1, 5, 2}}};
  FileWatch w({"a.py", "b"}, [&](const std::string& p) { return files[p]; });
  EXPECT_FALSE(w.changed());
  files["a.py"].mtime_ns = 2;  // touch
  EXPECT_TRUE(w.changed());
  EXPECT_FALSE(w.changed());
  files["b"].size = 6;  // same mtime, other size
  EXPECT_TRUE(w.changed());
  files["b"].inode = 3;  // saved by rename
  EXPECT_TRUE(w.changed());
  files["a.py"] = {};  // deleted
  EXPECT_TRUE(w.changed());
  EXPECT_FALSE(w.changed());
}

TEST(FileWatch, StatsRealFiles) {
  EXPECT_FALSE(stat_file("/nonexistent/sgeventd").exists);
  auto s = stat_file("/proc/self/exe");
  EXPECT_TRUE(s.exists);
}

}  // namespace
}  // namespace sgeventd::workers
