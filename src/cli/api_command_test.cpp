// `sgeventd api` as users run it: the real binary, over loopback HTTP, against a scripted
// server.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "process.h"
#include "scripted_http_server.h"
#include "sgeventd/json.h"

namespace sgeventd::cli {
namespace {

using testing::binary;
using testing::run_process;
using testing::ScriptedAction;
using testing::ScriptedHttpServer;

const Value kInfo = Dict{{"version", List{8, 50, 0}}, {"api_max_entities_per_page", 500}};

// No ambient settings leak into the tests.
const std::map<std::string, std::string> kCleanEnv = {
    {"SGEVENTD_SERVER", ""}, {"SGEVENTD_SCRIPT_NAME", ""},   {"SGEVENTD_SCRIPT_KEY", ""},
    {"SGEVENTD_CONFIG", ""}, {"SGEVENTD_SESSION_TOKEN", ""}, {"SGEVENTD_PASSWORD", ""},
    {"SGEVENTD_PROXY", ""}};

std::map<std::string, std::string> env_with(std::map<std::string, std::string> extra) {
  auto env = kCleanEnv;
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

Value body_of(const testing::RecordedRequest& r) {
  auto v = parse_json(r.body);
  return v ? *v : Value();
}

TEST(CliApi, FindPrintsJsonAndSendsTheOfficialBody) {
  ScriptedHttpServer server;
  server.enqueue(ScriptedAction::json(kInfo));
  server.enqueue(ScriptedAction::json(
      Dict{{"results", Dict{{"entities", List{Dict{{"type", "Shot"},
                                                   {"id", 7},
                                                   {"code", "x"},
                                                   {"created_at", "2024-01-02T03:04:05Z"}}}},
                            {"paging_info", Dict{{"has_next_page", false}}}}}}));
  auto r = run_process({binary("sgeventd"), "api", "--server", server.url(), "--script-name", "s",
                        "--script-key", "k", "find", "Shot", R"([["code","is","x"]])", "--fields",
                        "code,created_at", "--limit", "5"},
                       kCleanEnv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto printed = parse_json(r.out);
  ASSERT_TRUE(printed) << r.out;
  EXPECT_EQ(
      *printed,
      Value(List{Dict{
          {"type", "Shot"}, {"id", 7}, {"code", "x"}, {"created_at", "2024-01-02T03:04:05Z"}}}));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  const Value read = body_of(requests[1]);
  EXPECT_EQ(read["params"].as_list()[1]["return_fields"], Value(List{"code", "created_at"}));
  EXPECT_EQ(read["params"].as_list()[1]["paging"],
            Value(Dict{{"entities_per_page", 5}, {"current_page", 1}}));
  EXPECT_EQ(read["params"].as_list()[1]["filters"]["conditions"].as_list()[0],
            Value(Dict{{"path", "code"}, {"relation", "is"}, {"values", List{"x"}}}));
}

TEST(CliApi, SettingsFromTheEnvironment) {
  ScriptedHttpServer server;
  server.enqueue(ScriptedAction::json(Dict{{"results", true}}));
  auto r = run_process({binary("sgeventd"), "api", "delete", "Shot", "12"},
                       env_with({{"SGEVENTD_SERVER", server.url()},
                                 {"SGEVENTD_SCRIPT_NAME", "envscript"},
                                 {"SGEVENTD_SCRIPT_KEY", "envkey"}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "true\n");
  EXPECT_EQ(body_of(server.requests().at(0))["params"].as_list()[0],
            Value(Dict{{"script_name", "envscript"}, {"script_key", "envkey"}}));
}

TEST(CliApi, SettingsFromAShotgunEventDaemonConf) {
  ScriptedHttpServer server;
  server.enqueue(ScriptedAction::json(Dict{{"results", Dict{{"type", "Shot"}, {"id", 3}}}}));
  const std::string path = ::testing::TempDir() + "/cli_api_test.conf";
  {
    std::ofstream conf(path);
    conf << "[daemon]\nlogging: 20\n\n[shotgun]\nserver: %(TEST_SITE)s\nname = confscript\n"
            "key: confkey\n";
  }
  auto r = run_process({binary("sgeventd"), "api", "-c", path, "--compact", "update", "Shot", "3",
                        R"({"code":"y"})"},
                       env_with({{"TEST_SITE", server.url()}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"type\":\"Shot\",\"id\":3}\n");
  const Value update = body_of(server.requests().at(0));
  EXPECT_EQ(update["params"].as_list()[0],
            Value(Dict{{"script_name", "confscript"}, {"script_key", "confkey"}}));
  EXPECT_EQ(update["method_name"], Value("update"));
  std::remove(path.c_str());
}

TEST(CliApi, FaultsExitOneWithoutTheKey) {
  ScriptedHttpServer server;
  server.enqueue(ScriptedAction::json(Dict{
      {"exception", true}, {"error_code", 102}, {"message", "Can't authenticate script 's'"}}));
  auto r = run_process({binary("sgeventd"), "api", "--server", server.url(), "--script-name", "s",
                        "--script-key", "the-secret-key", "revive", "Shot", "1"},
                       kCleanEnv);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("AuthenticationFault: Can't authenticate script 's'"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("the-secret-key"), std::string::npos);
  EXPECT_EQ(r.out.find("the-secret-key"), std::string::npos);
}

TEST(CliApi, UsageErrorsExitTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {"api", "--server", "http://127.0.0.1:9", "find", "Shot", "[not json"},
      {"api", "--server", "http://127.0.0.1:9", "update", "Shot", "abc", "{}"},
      {"api", "--server", "http://127.0.0.1:9", "create", "Shot", "[1]"},
      {"api", "find", "Shot"},  // no server anywhere
      {"api", "--server", "ftp://x", "--script-name", "a", "--script-key", "b", "info"},
      {"api", "--no-such-flag"},
      {"nosuchcommand"},
  };
  for (auto args : bad) {
    args.insert(args.begin(), binary("sgeventd"));
    auto r = run_process(args, kCleanEnv);
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
    EXPECT_FALSE(r.err.empty());
  }
}

TEST(CliApi, AnOptionOfAnotherMethodIsRefusedNotIgnored) {
  ScriptedHttpServer server;  // must never be asked anything
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"create", "Shot", "{}", "--fields", "code"}, "--fields means nothing for create"},
      {{"find", "Shot", "--return-fields", "code"}, "--return-fields means nothing for find"},
      {{"update", "Shot", "1", "{}", "--limit", "3"}, "--limit means nothing for update"},
      {{"info", "--retired-only"}, "--retired-only means nothing for info"},
      {{"find_one", "Shot", "--page", "2"}, "--page means nothing for find_one"},
  };
  for (const auto& [call, expected] : cases) {
    std::vector<std::string> args = {binary("sgeventd"), "api", "--server",     server.url(),
                                     "--script-name",    "s",   "--script-key", "k"};
    args.insert(args.end(), call.begin(), call.end());
    auto r = run_process(args, kCleanEnv);
    EXPECT_EQ(r.exit_code, 2) << expected << ": " << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  }
  auto r = run_process({binary("sgeventd"), "api", "--server", server.url(), "--script-name", "s",
                        "--script-key", "k", "create", "Shot", "{}", "--fields", "code"},
                       kCleanEnv);
  EXPECT_NE(r.err.find("--return-fields"), std::string::npos) << "a hint: " << r.err;
  EXPECT_TRUE(server.requests().empty()) << "nothing is sent for a refused call";
}

TEST(CliApi, HelpExplains) {
  auto r = run_process({binary("sgeventd"), "api", "--help"}, kCleanEnv);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("SGEVENTD_SCRIPT_KEY"), std::string::npos);
  EXPECT_NE(r.out.find("find Shot"), std::string::npos);
  r = run_process({binary("sgeventd"), "--help"}, kCleanEnv);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("api"), std::string::npos);
}

TEST(CliApi, ConnectionRefusedIsAFailureNotACrash) {
  // Port 1 on loopback: nothing listens there.
  auto r = run_process({binary("sgeventd"), "api", "--server", "http://127.0.0.1:1",
                        "--script-name", "s", "--script-key", "k", "info"},
                       kCleanEnv);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("ConnectionError"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sgeventd::cli
