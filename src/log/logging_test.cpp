#include "log/logging.h"

#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "log/log_test_support.h"

#include "sgeventd/json.h"

namespace sgeventd::log {
namespace {

using testing::contains;
using testing::read;

namespace fs = std::filesystem;

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("sgeventd_logging_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.log_path = dir_ / "var" / "log";
    options_.log_file = "daemon.log";
    options_.console_writer = [this](std::string_view line) {
      std::lock_guard lock(console_mutex_);
      console_ += line;
    };
  }
  void TearDown() override {
    logging_.reset();
    fs::remove_all(dir_);
  }

  Logging& open() {
    auto opened = Logging::open(options_);
    EXPECT_TRUE(opened.has_value()) << (opened ? "" : opened.error());
    logging_ = std::move(*opened);
    return *logging_;
  }
  std::string main_log() {
    logging_->flush();
    return read(options_.log_path / "daemon.log");
  }
  std::string console() {
    std::lock_guard lock(console_mutex_);
    return console_;
  }

  fs::path dir_;
  LoggingOptions options_;
  std::unique_ptr<Logging> logging_;
  std::mutex console_mutex_;
  std::string console_;
};

TEST_F(LoggingTest, CreatesTheLogPathAndWritesTheOriginalsLineFormat) {
  open().engine()->info("Using SG Python API version {}", "3.4");
  EXPECT_TRUE(fs::is_directory(options_.log_path));
  std::regex line(
      R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - engine - INFO - Using SG Python API version 3\.4\n)");
  EXPECT_TRUE(std::regex_match(main_log(), line)) << main_log();
}

TEST_F(LoggingTest, LogMode0PutsEverythingInTheMainFile) {
  options_.mode = 0;
  Logging& logging = open();
  logging.engine()->info("engine line");
  logging.plugin("notify")->info("plugin line");
  logging.log({.logger = "plugin.notify.onStatusChange", .level = 30, .message = "callback line"});
  std::string text = main_log();
  EXPECT_TRUE(contains(text, " - engine - INFO - engine line"));
  EXPECT_TRUE(contains(text, " - plugin.notify - INFO - plugin line"));
  EXPECT_TRUE(contains(text, " - plugin.notify.onStatusChange - WARNING - callback line"));
  EXPECT_FALSE(fs::exists(options_.log_path / "plugin.notify"));
}

TEST_F(LoggingTest, LogMode1GivesEachPluginItsFile) {
  options_.mode = 1;
  Logging& logging = open();
  logging.engine()->info("engine line");
  logging.plugin("notify")->info("plugin line");
  logging.log({.logger = "plugin.notify.onStatusChange", .level = 40, .message = "callback line"});
  logging.plugin("other")->warn("other line");
  logging.flush();
  std::string main = main_log();
  std::string notify = read(options_.log_path / "plugin.notify");
  EXPECT_TRUE(contains(main, "engine line"));
  EXPECT_FALSE(contains(main, "plugin line"));
  EXPECT_FALSE(contains(main, "callback line"));
  EXPECT_TRUE(contains(notify, " - plugin.notify - INFO - plugin line"));
  EXPECT_TRUE(contains(notify, " - plugin.notify.onStatusChange - ERROR - callback line"));
  EXPECT_FALSE(contains(notify, "other line"));
  EXPECT_TRUE(contains(read(options_.log_path / "plugin.other"), "other line"));
  EXPECT_EQ(logging.plugin_log_file("notify"), fs::absolute(options_.log_path / "plugin.notify"));
}

TEST_F(LoggingTest, LevelsFilterAndPluginsCanOverride) {
  options_.level = 30;
  Logging& logging = open();
  logging.engine()->info("engine info");
  logging.engine()->warn("engine warning");
  logging.set_plugin_level("chatty", 10);
  logging.plugin("chatty")->debug("chatty debug");
  logging.plugin("quiet")->info("quiet info");
  logging.log({.logger = "plugin.quiet.cb", .level = 20, .message = "worker info"});
  logging.log({.logger = "plugin.quiet.cb", .level = 35, .message = "worker custom 35"});
  logging.flush();
  std::string main = main_log();
  EXPECT_FALSE(contains(main, "engine info"));
  EXPECT_TRUE(contains(main, "engine warning"));
  EXPECT_TRUE(contains(read(options_.log_path / "plugin.chatty"), "DEBUG - chatty debug"));
  std::string quiet = read(options_.log_path / "plugin.quiet");
  EXPECT_FALSE(contains(quiet, "quiet info"));
  EXPECT_FALSE(contains(quiet, "worker info"));
  EXPECT_TRUE(contains(quiet, "WARNING - worker custom 35"));

  logging.set_level(10);
  logging.engine()->debug("engine debug now");
  EXPECT_TRUE(contains(main_log(), "engine debug now"));
}

TEST_F(LoggingTest, WorkerRecordsKeepTheirTimeNameAndLevel) {
  options_.mode = 1;
  Logging& logging = open();
  LogRecord record;
  record.plugin = "notify";
  record.logger = "plugin.notify.onStatusChange";
  record.level = 50;
  record.message = "Task 12 failed";
  record.time = time_from_unix_seconds(86400.5);  // 1970-01-02: far from "now"
  logging.log(record);
  logging.flush();
  std::string text = read(options_.log_path / "plugin.notify");
  EXPECT_TRUE(contains(text, "1970-01-0")) << text;  // local time of the worker's stamp
  EXPECT_TRUE(contains(text, ",500 - plugin.notify.onStatusChange - CRITICAL - Task 12 failed"));
}

TEST_F(LoggingTest, ForwardedWorkerRecordsSkipTheDaemonsLevel) {
  // The worker filtered with Python's levels already; a plugin may have lowered its own.
  options_.mode = 1;
  options_.level = 30;
  Logging& logging = open();
  logging.forward({.logger = "plugin.notify.cb", .level = 10, .message = "plugin chose debug"});
  logging.log({.logger = "plugin.notify.cb", .level = 10, .message = "filtered here"});
  logging.flush();
  std::string text = read(options_.log_path / "plugin.notify");
  EXPECT_TRUE(contains(text, "DEBUG - plugin chose debug"));
  EXPECT_FALSE(contains(text, "filtered here"));
}

TEST_F(LoggingTest, PluginNamesWithDotsNeedTheExplicitPlugin) {
  options_.mode = 1;
  Logging& logging = open();
  logging.log({.logger = "plugin.my.plugin.cb", .message = "dotted", .plugin = "my.plugin"});
  logging.flush();
  EXPECT_TRUE(contains(read(options_.log_path / "plugin.my.plugin"), "dotted"));
}

TEST_F(LoggingTest, ForegroundWritesTheOriginalsConsoleFormat) {
  options_.console = true;
  Logging& logging = open();
  logging.engine()->info("hello");
  logging.plugin("notify")->error("bad");
  EXPECT_EQ(console(), "INFO:engine:hello\nERROR:plugin.notify:bad\n");
}

TEST_F(LoggingTest, WithoutFilesNothingIsWrittenToDiskButTheConsoleHasEverything) {
  options_.files = false;
  options_.console = true;
  options_.timing_log = true;
  Logging& logging = open();
  logging.engine()->info("engine line");
  logging.plugin("notify")->warn("plugin line");
  logging.timing({});
  logging.flush();
  EXPECT_FALSE(fs::exists(options_.log_path)) << "not even the folder is made";
  EXPECT_EQ(console(), "INFO:engine:engine line\nWARNING:plugin.notify:plugin line\n");
  EXPECT_EQ(logging.main_log_file(), fs::path());
}

TEST_F(LoggingTest, NoConsoleOutputWhenNotForeground) {
  open().engine()->info("hello");
  EXPECT_EQ(console(), "");
}

TEST_F(LoggingTest, JsonLinesCarryPluginAndFields) {
  options_.json = true;
  Logging& logging = open();
  logging.engine()->info("engine says {}", "hi");
  {
    ScopedLogFields fields({{"event_id", 4242}, {"attempt", 2}});
    logging.plugin("notify")->warn("slow");
  }
  logging.log({.logger = "plugin.notify.cb",
               .level = 40,
               .message = "from \"worker\"",
               .plugin = "notify",
               .path = "/plugins/notify.py",
               .function = "cb",
               .line = 12,
               .fields = {{"event_id", 77}}});

  std::vector<Value> objects;
  std::istringstream lines(console());
  for (std::string line; std::getline(lines, line);) {
    auto parsed = parse_json(line);
    ASSERT_TRUE(parsed.has_value()) << line;
    objects.push_back(*parsed);
  }
  ASSERT_EQ(objects.size(), 3u);
  const Dict& engine = objects[0].as_dict();
  EXPECT_EQ(engine.get("level"), Value("INFO"));
  EXPECT_EQ(engine.get("levelno"), Value(20));
  EXPECT_EQ(engine.get("logger"), Value("engine"));
  EXPECT_TRUE(engine.get("plugin").is_null());
  EXPECT_EQ(engine.get("message"), Value("engine says hi"));
  EXPECT_TRUE(std::regex_match(engine.get("time").as_string(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")));
  EXPECT_FALSE(engine.contains("event_id"));

  const Dict& plugin = objects[1].as_dict();
  EXPECT_EQ(plugin.get("plugin"), Value("notify"));
  EXPECT_EQ(plugin.get("event_id"), Value(4242));
  EXPECT_EQ(plugin.get("attempt"), Value(2));

  const Dict& worker = objects[2].as_dict();
  EXPECT_EQ(worker.get("logger"), Value("plugin.notify.cb"));
  EXPECT_EQ(worker.get("message"), Value("from \"worker\""));
  EXPECT_EQ(worker.get("event_id"), Value(77));
  EXPECT_EQ(worker.get("file"), Value("/plugins/notify.py"));
  EXPECT_EQ(worker.get("line"), Value(12));
  EXPECT_EQ(worker.get("function"), Value("cb"));

  // The files keep the text format.
  EXPECT_TRUE(contains(main_log(), " - engine - INFO - engine says hi"));
}

TEST_F(LoggingTest, SecretsNeverReachAnyOutput) {
  options_.mode = 0;
  options_.console = true;
  options_.secrets = {"SCRIPTKEY123"};
  options_.timing_log = true;
  Logging& logging = open();
  logging.add_secret("session-token-xyz");
  logging.engine()->info("connecting with key SCRIPTKEY123");
  logging.plugin("p")->error("token session-token-xyz in url ?key=SCRIPTKEY123");
  logging.log({.logger = "plugin.p.cb",
               .message = "again SCRIPTKEY123",
               .path = "/x/SCRIPTKEY123.py",
               .line = 1});
  logging.timing({.event_id = 1, .callback = "p.SCRIPTKEY123"});
  logging.flush();
  for (const std::string& text : {main_log(), console(), read(logging.timing_log_file())}) {
    EXPECT_FALSE(contains(text, "SCRIPTKEY123")) << text;
    EXPECT_FALSE(contains(text, "session-token-xyz")) << text;
    EXPECT_TRUE(contains(text, "********")) << text;
  }
}

TEST_F(LoggingTest, SecretsAreRedactedInJsonLinesToo) {
  options_.json = true;
  options_.secrets = {"k\"ey"};
  Logging& logging = open();
  ScopedLogFields fields({LogField{"url", "https://site/?key=k\"ey"}});
  logging.engine()->info("key k\"ey");
  EXPECT_FALSE(contains(console(), "k\\\"ey")) << console();
  EXPECT_TRUE(contains(console(), "********"));
}

TEST_F(LoggingTest, TimingLogHasOneLinePerRunInTheOriginalsFormat) {
  options_.timing_log = true;
  options_.level = 40;  // the timing log does not depend on the level
  Logging& logging = open();
  auto created = std::chrono::system_clock::now() - std::chrono::seconds(3);
  logging.timing({.event_id = 7,
                  .created_at = created,
                  .callback = "plugin.notify.onStatusChange",
                  .start = created + std::chrono::seconds(2),
                  .end = created + std::chrono::milliseconds(2500),
                  .error = true});
  logging.flush();
  EXPECT_EQ(logging.timing_log_file(), fs::absolute(options_.log_path / "daemon.log.timing"));
  std::string text = read(options_.log_path / "daemon.log.timing");
  std::regex line(
      R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - timing - INFO - event_id=7 created_at=\S+ )"
      R"(callback=notify\.onStatusChange start=\S+ end=\S+ duration=00:00:00:00\.500000 )"
      R"(error=True delay=00:00:00:02\.000000\n)");
  EXPECT_TRUE(std::regex_match(text, line)) << text;
  EXPECT_FALSE(contains(main_log(), "event_id=7"));
}

TEST_F(LoggingTest, NoTimingFileWhenOff) {
  Logging& logging = open();
  logging.timing({.event_id = 7});
  EXPECT_FALSE(logging.timing_enabled());
  EXPECT_FALSE(fs::exists(options_.log_path / "daemon.log.timing"));
}

TEST_F(LoggingTest, RotationUsesTheInjectedClock) {
  std::tm tm{};
  tm.tm_year = 124;
  tm.tm_mon = 0;
  tm.tm_mday = 31;
  tm.tm_hour = 23;
  tm.tm_min = 59;
  tm.tm_isdst = -1;
  auto before = std::chrono::system_clock::from_time_t(std::mktime(&tm));
  std::atomic<std::int64_t> now{before.time_since_epoch().count()};
  options_.now = [&] {
    return std::chrono::system_clock::time_point(std::chrono::system_clock::duration(now.load()));
  };
  options_.mode = 1;
  Logging& logging = open();
  logging.engine()->info("january");
  logging.plugin("p")->info("p january");
  now += std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::minutes(2))
             .count();
  logging.engine()->info("february");
  logging.plugin("p")->info("p february");
  logging.flush();
  EXPECT_TRUE(contains(read(options_.log_path / "daemon.log.2024-01-31"), "january"));
  EXPECT_TRUE(contains(read(options_.log_path / "plugin.p.2024-01-31"), "p january"));
  EXPECT_TRUE(contains(main_log(), "february"));
  EXPECT_FALSE(contains(main_log(), "january"));
}

TEST_F(LoggingTest, OpenFailsWithAMessageNamingThePath) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "var") << "a file where a folder should be";
  auto opened = Logging::open(options_);
  ASSERT_FALSE(opened.has_value());
  EXPECT_TRUE(contains(opened.error(), "var")) << opened.error();
}

}  // namespace
}  // namespace sgeventd::log
