#include "workers/completion_log.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace sgeventd::workers {
namespace {

namespace fs = std::filesystem;

class CompletionLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sgeventd-completions-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "p.done").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::int64_t> take(bool reset = false) {
    auto t = take_over_completions(path_, reset);
    EXPECT_TRUE(t) << t.error();
    return t ? t->ids : std::vector<std::int64_t>{};
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(CompletionLogTest, ANewFileIsLaidOutPrivateAndRecordsNothing) {
  EXPECT_TRUE(take().empty());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(static_cast<std::size_t>(st.st_size),
            kCompletionHeader + kCompletionRecord * kCompletionSlots);
}

TEST_F(CompletionLogTest, WhatAWriterRecordsIsReadBackInOrder) {
  take();
  {
    auto w = CompletionWriter::open(path_);
    ASSERT_TRUE(w) << w.error();
    for (std::int64_t id : {5, 6, 9}) w->record(id);
  }
  EXPECT_EQ(take(), (std::vector<std::int64_t>{5, 6, 9}));
  auto again = read_completions(path_);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, (std::vector<std::int64_t>{5, 6, 9}));
  // A second writer (the next worker of the plugin) goes on after the first one's records.
  {
    auto w = CompletionWriter::open(path_);
    ASSERT_TRUE(w);
    w->record(10);
  }
  EXPECT_EQ(take(), (std::vector<std::int64_t>{5, 6, 9, 10}));
}

TEST_F(CompletionLogTest, TheRingKeepsTheNewestRecords) {
  take();
  auto w = CompletionWriter::open(path_);
  ASSERT_TRUE(w);
  const std::int64_t total = kCompletionSlots + 100;
  for (std::int64_t id = 1; id <= total; ++id) w->record(id);
  *w = CompletionWriter();  // unlocks
  const auto ids = take();
  ASSERT_EQ(ids.size(), kCompletionSlots);
  EXPECT_EQ(ids.front(), 101);
  EXPECT_EQ(ids.back(), total);
}

TEST_F(CompletionLogTest, ARecordItsWriterDidNotFinishIsNotCounted) {
  take();
  {
    auto w = CompletionWriter::open(path_);
    ASSERT_TRUE(w);
    w->record(1);
    w->record(2);
  }
  // Damage the second record's ordinal, as a writer killed in the middle of it would.
  std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(kCompletionHeader + kCompletionRecord + 8));
  const std::uint64_t wrong = 77;
  f.write(reinterpret_cast<const char*>(&wrong), sizeof wrong);
  f.close();
  EXPECT_EQ(take(), (std::vector<std::int64_t>{1}));
}

TEST_F(CompletionLogTest, AResetOrAForeignFileRecordsNothing) {
  take();
  {
    auto w = CompletionWriter::open(path_);
    ASSERT_TRUE(w);
    w->record(1);
  }
  auto reset = take_over_completions(path_, /*reset=*/true);
  ASSERT_TRUE(reset);
  EXPECT_TRUE(reset->ids.empty());
  EXPECT_TRUE(take().empty());
  std::ofstream(path_, std::ios::trunc) << "not a completion file";
  auto foreign = take_over_completions(path_, false);
  ASSERT_TRUE(foreign);
  EXPECT_TRUE(foreign->ids.empty());
  EXPECT_TRUE(foreign->was_reset);
  EXPECT_TRUE(CompletionWriter::open(path_)) << "laid out again";
}

TEST_F(CompletionLogTest, ASymlinkIsRefusedNotFollowed) {
  const std::string target = (dir_ / "target").string();
  std::ofstream(target) << "precious";
  fs::create_symlink(target, path_);
  auto t = take_over_completions(path_, false);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().find("symbolic link"), std::string::npos) << t.error();
  std::ifstream in(target);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "precious");
  EXPECT_FALSE(CompletionWriter::open(path_));
}

TEST_F(CompletionLogTest, AnOrphanStillWritingIsStoppedBeforeTheFileIsRead) {
  take();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setpgid(0, 0);  // as a worker: its own process group
    auto w = CompletionWriter::open(path_);
    if (!w) ::_exit(2);
    w->record(41);
    w->record(42);
    [[maybe_unused]] auto n = ::write(ready[1], "x", 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  EXPECT_FALSE(CompletionWriter::open(path_)) << "the lock keeps a second writer out";
  auto t = take_over_completions(path_, false);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->stopped, child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(t->ids, (std::vector<std::int64_t>{41, 42}));
}

TEST_F(CompletionLogTest, FileNamesAreShortStableAndKeyedOnPathAndName) {
  const auto a = completion_file_name("/srv/plugins/notify.py", "notify");
  EXPECT_EQ(a, completion_file_name("/srv/plugins/notify.py", "notify"));
  EXPECT_NE(a, completion_file_name("/srv/other/notify.py", "notify"));
  EXPECT_EQ(a.rfind("notify-", 0), 0u) << a;
  EXPECT_EQ(completion_file_name("/x", "a b/c").rfind("a_b_c-", 0), 0u);
  EXPECT_LT(completion_file_name("/x", std::string(300, 'n')).size(), 64u);
}

}  // namespace
}  // namespace sgeventd::workers
