#include "daemon/pid_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sgeventd::daemon {
namespace {

std::string temp_path(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/pid_file_test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name;
  std::filesystem::remove(path);
  return path;
}

TEST(PidFile, WritesOurPidAndRemovesItOnExit) {
  const std::string path = temp_path("a.pid");
  {
    auto pid = PidFile::acquire(path);
    ASSERT_TRUE(pid) << pid.error();
    std::ifstream in(path);
    pid_t written = 0;
    in >> written;
    EXPECT_EQ(written, ::getpid());
    EXPECT_EQ(running_daemon(path), ::getpid());
    EXPECT_FALSE(pid->removed());
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(running_daemon(path));
}

TEST(PidFile, ASecondDaemonIsRefusedWithThePid) {
  const std::string path = temp_path("b.pid");
  auto first = PidFile::acquire(path);
  ASSERT_TRUE(first);
  auto second = PidFile::acquire(path);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.error();
}

TEST(PidFile, AStaleFileFromAKilledDaemonIsTakenOver) {
  const std::string path = temp_path("c.pid");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    auto pid = PidFile::acquire(path);
    char c = pid ? 'y' : 'n';
    (void)::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  EXPECT_EQ(running_daemon(path), child);
  EXPECT_FALSE(PidFile::acquire(path));
  ::kill(child, SIGKILL);  // no cleanup: the file stays, the lock goes
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(running_daemon(path));
  auto taken = PidFile::acquire(path);
  ASSERT_TRUE(taken) << taken.error();
  EXPECT_EQ(running_daemon(path), ::getpid());
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(PidFile, RemovingTheFileIsNoticed) {
  const std::string path = temp_path("d.pid");
  auto pid = PidFile::acquire(path);
  ASSERT_TRUE(pid);
  std::filesystem::remove(path);
  EXPECT_TRUE(pid->removed());
  std::ofstream(path) << "12345\n";  // replaced by someone else: still removed, and kept
  EXPECT_TRUE(pid->removed());
  pid = PidFile::acquire(temp_path("e.pid"));
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(PidFile, AMissingFolderIsMade) {
  const std::string dir = ::testing::TempDir() + "/pid_file_made_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  {
    auto pid = PidFile::acquire(dir + "/run/sgeventd/x.pid");
    ASSERT_TRUE(pid) << pid.error();
  }
  std::filesystem::remove_all(dir);
}

TEST(PidFile, UnwritableLocationIsAClearError) {
  // Under a regular file: no folder can be made there, not even by root.
  const std::string file = ::testing::TempDir() + "/pid_file_blocker_" + std::to_string(getpid());
  std::ofstream(file) << "";
  auto pid = PidFile::acquire(file + "/x.pid");
  ASSERT_FALSE(pid);
  EXPECT_NE(pid.error().find(file + "/x.pid"), std::string::npos);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace sgeventd::daemon
