// `sgeventd check-config` as an operator runs it: the real binary on real files.

#include <gtest/gtest.h>

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

TEST(CliCheckConfig, GoodConfigIsOk) {
  const std::string path =
      write_file("good.conf",
                 "[daemon]\npidFile: /tmp/p\neventIdFile: /tmp/s\n[shotgun]\nserver: %(SITE)s\n"
                 "name: n\nkey: k\n[plugins]\npaths: /tmp\n");
  auto r = run_process({binary("sgeventd"), "check-config", "-c", path},
                       {{"SITE", "https://studio.example.com"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(": OK"), std::string::npos);
}

TEST(CliCheckConfig, ProblemsAreListedWithLinesAndExitTwo) {
  const std::string path =
      write_file("bad.conf",
                 "[daemon]\npidFile: /tmp/p\neventIdFile: /tmp/s\nfetch_interval: never\nbogus: 1\n"
                 "[shotgun]\nserver: https://x\nname: n\n[plugins]\npaths: /tmp\n");
  auto r = run_process({binary("sgeventd"), "check-config", "-c", path}, {});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.conf:4: error: [daemon] fetch_interval"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.conf:5: warning: [daemon] bogus is not a known key"),
            std::string::npos);
  EXPECT_NE(r.err.find("[shotgun] key is required"), std::string::npos);
  EXPECT_NE(r.err.find("2 error(s), 1 warning(s)"), std::string::npos);
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
