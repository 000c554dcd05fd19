// `sgeventd check-config` as an operator runs it: the real binary on real files.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "process.h"

namespace sgeventd::cli {
namespace {

using testing::binary;
using testing::run_process;

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// A folder of its own per test (TempDir is shared).
std::string fresh_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(CliCheckConfig, GoodConfigIsOk) {
  const std::string plugins = fresh_dir("check_config_good_plugins");
  const std::string path =
      write_file("good.conf",
                 "[daemon]\npidFile: /tmp/p\neventIdFile: /tmp/s\n[shotgun]\nserver: %(SITE)s\n"
                 "name: n\nkey: k\n[plugins]\npaths: " +
                     plugins + "\n");
  auto r = run_process({binary("sgeventd"), "check-config", "-c", path},
                       {{"SITE", "https://studio.example.com"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(": OK"), std::string::npos);
}

TEST(CliCheckConfig, ProblemsAreListedWithLinesAndExitTwo) {
  const std::string path = write_file(
      "bad.conf",
      "[daemon]\npidFile: /tmp/p\neventIdFile: /tmp/s\nfetch_interval: never\nbogus: 1\n"
      "timing_log: yes\n[shotgun]\nserver: https://x\nname: n\n[plugins]\npaths: /tmp\n");
  auto r = run_process({binary("sgeventd"), "check-config", "-c", path}, {});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.conf:4: error: [daemon] fetch_interval"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.conf:5: warning: [daemon] bogus is not a known key"),
            std::string::npos);
  EXPECT_NE(r.err.find("[shotgun] key is required"), std::string::npos);
  EXPECT_NE(r.err.find("bad.conf:6: error: [daemon] timing_log must be on or off"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("3 error(s), 1 warning(s)"), std::string::npos);
}

TEST(CliCheckConfig, WhatTheConfigNamesIsCheckedToo) {
  // Each of these passed check-config once, then made the daemon run with fewer plugins or
  // fail: each is an error now, with its line.
  const std::string dir = fresh_dir("check_config_paths");
  const std::string plugins = dir + "/plugins";
  std::filesystem::create_directories(plugins);
  write_file("check_config_paths/plugins/trigger.py", "def registerCallbacks(reg):\n    pass\n");
  write_file("check_config_paths/plugins/broken.plugin", "[plugin]\nnothing = here\n");
  write_file("check_config_paths/a_file", "");
  const std::string path = write_file(
      "paths.conf", "[daemon]\npidFile: " + dir + "/a_file/sgeventd.pid\neventIdFile: " + dir +
                        "/state/s\nlogPath: " + dir +
                        "/a_file\n"
                        "[shotgun]\nserver: https://x\nname: n\nkey: k\n"
                        "[plugins]\npaths: " +
                        plugins + "," + dir + "/missing," + dir +
                        "/a_file\n"
                        "[python]\ninterpreter: " +
                        dir + "/no-python\n");
  auto r = run_process({binary("sgeventd"), "check-config", "-c", path}, {});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  for (const std::string& expected :
       {"[plugins] paths: " + dir + "/missing does not exist",
        "[plugins] paths: " + dir + "/a_file is not a folder",
        std::string("a plugin will not run: "), std::string("broken.plugin"),
        "[python] interpreter " + dir + "/no-python does not exist",
        std::string("[daemon] pidFile's folder: "), std::string("[daemon] logPath: ")}) {
    EXPECT_NE(r.err.find(expected), std::string::npos) << expected << "\n" << r.err;
  }
  EXPECT_EQ(r.err.find("eventIdFile"), std::string::npos) << "a folder it can make is fine";
}

TEST(CliCheckConfig, MissingFileIsAUsageError) {
  auto r = run_process({binary("sgeventd"), "check-config", "-c", "/nonexistent/x.conf"}, {});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos);
  r = run_process({binary("sgeventd"), "check-config"},
                  {{"SGEVENTD_CONFIG", "/nonexistent/y.conf"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("SGEVENTD_CONFIG"), std::string::npos);
}

}  // namespace
}  // namespace sgeventd::cli
