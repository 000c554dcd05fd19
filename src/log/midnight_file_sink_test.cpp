#include "log/midnight_file_sink.h"

#include <sys/time.h>

#include <ctime>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "log/log_test_support.h"

#include "log/format.h"

namespace sgeventd::log {
namespace {

using testing::local;
using testing::read;

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::system_clock;

class MidnightFileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("sgeventd_rotation_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<MidnightFileSink> open_sink(int backups = 10) {
    FileSinkOptions options;
    options.path = dir_ / "logs" / "main.log";
    options.backup_count = backups;
    options.now = [this] { return now_; };
    auto sink = MidnightFileSink::open(options, std::make_shared<Redactor>());
    EXPECT_TRUE(sink.has_value()) << (sink ? "" : sink.error());
    return sink ? *sink : nullptr;
  }

  void write(MidnightFileSink& sink, std::string_view text) {
    spdlog::details::log_msg msg(now_, {}, "engine", spdlog::level::info, text);
    sink.log(msg);
  }

  fs::path dir_;
  system_clock::time_point now_ = local(2024, 3, 9, 12, 0, 0);
};

TEST_F(MidnightFileSinkTest, CreatesTheFolderAndAppends) {
  auto sink = open_sink();
  write(*sink, "one");
  write(*sink, "two");
  std::string text = read(dir_ / "logs" / "main.log");
  EXPECT_NE(text.find(" - engine - INFO - one\n"), std::string::npos);
  EXPECT_NE(text.find(" - engine - INFO - two\n"), std::string::npos);
}

TEST_F(MidnightFileSinkTest, RotatesAtLocalMidnightWithPythonsSuffix) {
  now_ = local(2024, 3, 9, 23, 59, 59);
  auto sink = open_sink();
  write(*sink, "before midnight");
  now_ = local(2024, 3, 10, 0, 0, 1);
  write(*sink, "after midnight");
  fs::path rotated = dir_ / "logs" / "main.log.2024-03-09";
  ASSERT_TRUE(fs::exists(rotated));
  EXPECT_NE(read(rotated).find("before midnight"), std::string::npos);
  std::string current = read(dir_ / "logs" / "main.log");
  EXPECT_EQ(current.find("before midnight"), std::string::npos);
  EXPECT_NE(current.find("after midnight"), std::string::npos);
}

TEST_F(MidnightFileSinkTest, NoRotationWithinTheDay) {
  now_ = local(2024, 3, 9, 0, 0, 1);
  auto sink = open_sink();
  write(*sink, "a");
  now_ = local(2024, 3, 9, 23, 59, 59);
  write(*sink, "b");
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_ / "logs")) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(MidnightFileSinkTest, KeepsTenRotatedFiles) {
  auto sink = open_sink();
  for (int day = 0; day < 15; ++day) {
    now_ = local(2024, 3, 10 + day, 9, 0, 0);
    write(*sink, "day " + std::to_string(day));
  }
  std::vector<std::string> rotated;
  for (const auto& entry : fs::directory_iterator(dir_ / "logs")) {
    rotated.push_back(entry.path().filename().string());
  }
  std::sort(rotated.begin(), rotated.end());
  ASSERT_EQ(rotated.size(), 11u);  // main.log and 10 old ones
  EXPECT_EQ(rotated.front(), "main.log");
  EXPECT_EQ(rotated[1], "main.log.2024-03-14");
  EXPECT_EQ(rotated.back(), "main.log.2024-03-23");
}

TEST_F(MidnightFileSinkTest, OtherFilesInTheFolderAreNotCountedOrDeleted) {
  fs::create_directories(dir_ / "logs");
  std::ofstream(dir_ / "logs" / "main.log.timing.2020-01-01") << "x";
  std::ofstream(dir_ / "logs" / "main.log.2020-01-01.bak") << "x";
  auto sink = open_sink(1);
  for (int day = 0; day < 4; ++day) {
    now_ = local(2024, 3, 10 + day, 9, 0, 0);
    write(*sink, "x");
  }
  EXPECT_TRUE(fs::exists(dir_ / "logs" / "main.log.timing.2020-01-01"));
  EXPECT_TRUE(fs::exists(dir_ / "logs" / "main.log.2020-01-01.bak"));
  EXPECT_TRUE(fs::exists(dir_ / "logs" / "main.log.2024-03-12"));
  EXPECT_FALSE(fs::exists(dir_ / "logs" / "main.log.2024-03-11"));
}

TEST_F(MidnightFileSinkTest, AFileFromAnEarlierDayRotatesOnTheFirstRecord) {
  // As Python: the first rollover is computed from the existing file's modification time.
  fs::create_directories(dir_ / "logs");
  fs::path path = dir_ / "logs" / "main.log";
  std::ofstream(path) << "old line\n";
  auto old_time = system_clock::to_time_t(local(2024, 3, 5, 15, 0, 0));
  timeval times[2] = {{old_time, 0}, {old_time, 0}};
  ASSERT_EQ(::utimes(path.c_str(), times), 0);
  now_ = local(2024, 3, 9, 8, 0, 0);
  auto sink = open_sink();
  write(*sink, "new line");
  EXPECT_NE(read(dir_ / "logs" / "main.log.2024-03-05").find("old line"), std::string::npos);
  EXPECT_EQ(read(path).find("old line"), std::string::npos);
}

TEST_F(MidnightFileSinkTest, RefusesALogPathThatIsAFile) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "logs") << "not a folder";
  FileSinkOptions options;
  options.path = dir_ / "logs" / "main.log";
  auto sink = MidnightFileSink::open(options, std::make_shared<Redactor>());
  ASSERT_FALSE(sink.has_value());
  EXPECT_NE(sink.error().find("not a folder"), std::string::npos);
}

TEST(NextLocalMidnight, IsTheStartOfTheNextDay) {
  auto t = local(2024, 3, 9, 12, 30, 0);
  EXPECT_EQ(next_local_midnight(t), local(2024, 3, 10, 0, 0, 0));
  EXPECT_EQ(next_local_midnight(local(2024, 3, 10, 0, 0, 0)), local(2024, 3, 11, 0, 0, 0));
  EXPECT_EQ(local_date(next_local_midnight(t) - seconds(1)), "2024-03-09");
}

}  // namespace
}  // namespace sgeventd::log
