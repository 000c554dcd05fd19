#include "workers/manifest.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sgeventd::workers {
namespace {

namespace fs = std::filesystem;

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sgeventd-manifest-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "bin");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text, bool exec = false) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    if (exec) ::chmod(p.c_str(), 0755);
    return p.string();
  }
  config::IniFile::Environment env() const {
    return {{"PATH", (dir_ / "bin").string() + ":/usr/bin:/bin"}, {"CHANNEL", "pipeline"}};
  }

  fs::path dir_;
};

TEST_F(ManifestTest, ResolvesACommandBesideTheManifest) {
  write("notify.sh", "#!/bin/sh\n", true);
  const auto path = write("notify.plugin",
                          "[plugin]\n"
                          "# what to run\n"
                          "command = ./notify.sh\n"
                          "args = --channel %(CHANNEL)s 'two words' \"a \\\"q\\\"\"\n"
                          "env = SLACK_CHANNEL=pipeline, LOG_LEVEL = info\n");
  auto p = load_exec_plugin(path, env());
  ASSERT_TRUE(p) << p.error().describe();
  EXPECT_EQ(p->plugin.name, "notify");
  EXPECT_EQ(p->plugin.path, path);
  EXPECT_EQ(p->spawn.argv, (std::vector<std::string>{(dir_ / "notify.sh").string(), "--channel",
                                                     "pipeline", "two words", "a \"q\""}));
  EXPECT_EQ(p->spawn.env, (std::vector<std::pair<std::string, std::string>>{
                              {"SLACK_CHANNEL", "pipeline"}, {"LOG_LEVEL", "info"}}));
  EXPECT_EQ(p->spawn.working_dir, dir_.string());
  EXPECT_EQ(p->watch_paths, (std::vector<std::string>{path, (dir_ / "notify.sh").string()}));
  EXPECT_TRUE(p->warnings.empty());
}

TEST_F(ManifestTest, CredentialsAreNamedOneByOneAndCheckedAgainstTheKnownOnes) {
  write("notify.sh", "#!/bin/sh\n", true);
  auto none = load_exec_plugin(write("a.plugin", "[plugin]\ncommand = ./notify.sh\n"), env());
  ASSERT_TRUE(none) << none.error().describe();
  EXPECT_TRUE(none->credentials.empty());
  auto named = load_exec_plugin(
      write("b.plugin",
            "[plugin]\ncommand = ./notify.sh\ncredentials = shotgun.key, emails.password\n"),
      env());
  ASSERT_TRUE(named) << named.error().describe();
  EXPECT_EQ(named->credentials, (std::vector<std::string>{"shotgun.key", "emails.password"}));
  EXPECT_TRUE(named->warnings.empty());
  auto wrong = load_exec_plugin(
      write("c.plugin", "[plugin]\ncommand = ./notify.sh\ncredentials = shotgun.password\n"),
      env());
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().line, 3);
  EXPECT_NE(wrong.error().message.find("shotgun.password"), std::string::npos);
}

TEST_F(ManifestTest, ABareNameIsLookedUpBesideTheManifestThenOnPath) {
  write("bin/tool", "#!/bin/sh\n", true);
  auto p = load_exec_plugin(write("a.plugin", "[plugin]\ncommand = tool\n"), env());
  ASSERT_TRUE(p) << p.error().describe();
  EXPECT_EQ(p->spawn.argv[0], (dir_ / "bin" / "tool").string());
  write("tool", "#!/bin/sh\n", true);
  p = load_exec_plugin(write("a.plugin", "[plugin]\ncommand = tool\n"), env());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->spawn.argv[0], (dir_ / "tool").string());
}

TEST_F(ManifestTest, AMissingCommandNamesFileAndLine) {
  const auto path = write("x.plugin", "[plugin]\n\ncommand = no-such-tool-here\n");
  auto p = load_exec_plugin(path, env());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().file, path);
  EXPECT_EQ(p.error().line, 3);
  EXPECT_NE(p.error().message.find("nor on PATH"), std::string::npos);
}

TEST_F(ManifestTest, ANonExecutableCommandIsAnError) {
  write("script.sh", "#!/bin/sh\n", false);
  auto p = load_exec_plugin(write("x.plugin", "[plugin]\ncommand = ./script.sh\n"), env());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().line, 2);
  EXPECT_NE(p.error().message.find("not an executable"), std::string::npos);
}

TEST_F(ManifestTest, BadArgsEnvAndSectionsAreErrors) {
  write("t", "", true);
  auto p = load_exec_plugin(write("x.plugin", "[plugin]\ncommand = ./t\nargs = 'open\n"), env());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().line, 3);
  EXPECT_NE(p.error().message.find("unclosed"), std::string::npos);

  p = load_exec_plugin(write("x.plugin", "[plugin]\ncommand = ./t\nenv = 1BAD=x\n"), env());
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().line, 3);

  p = load_exec_plugin(write("x.plugin", "[other]\ncommand = ./t\n"), env());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("[plugin]"), std::string::npos);

  p = load_exec_plugin(write("x.plugin", "[plugin]\nargs = x\n"), env());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("no command"), std::string::npos);

  p = load_exec_plugin((dir_ / "missing.plugin").string(), env());
  ASSERT_FALSE(p);
}

TEST_F(ManifestTest, UnknownKeysAreWarnings) {
  write("t", "", true);
  auto p = load_exec_plugin(write("x.plugin", "[plugin]\ncommand = ./t\ntimeout = 3\n"), env());
  ASSERT_TRUE(p);
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_NE(p->warnings[0].find(":3: unknown key \"timeout\""), std::string::npos);
}

TEST(SplitArgs, WorksLikeAShell) {
  EXPECT_EQ(*split_args("  a  b\\ c 'd e' \"f\\\"g\" ''"),
            (std::vector<std::string>{"a", "b c", "d e", "f\"g", ""}));
  EXPECT_EQ(*split_args(""), std::vector<std::string>{});
  EXPECT_FALSE(split_args("\"open"));
  EXPECT_FALSE(split_args("end\\"));
}

}  // namespace
}  // namespace sgeventd::workers
