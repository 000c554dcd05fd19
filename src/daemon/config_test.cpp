#include "daemon/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sgeventd::daemon {
namespace {

// shotgunEventDaemon.conf.example's keys and values, as studios run it.
const char* kOriginalExample = R"(# comment
[daemon]
pidFile: /var/log/shotgunEventDaemon/shotgunEventDaemon.pid
eventIdFile: /var/log/shotgunEventDaemon/shotgunEventDaemon.id
logMode: 1
logPath: /var/log/shotgunEventDaemon
logFile: shotgunEventDaemon
logging: 20
timing_log: off
conn_retry_sleep = 60
max_conn_retries = 5
fetch_interval = 5
max_event_batch_size = 500

[shotgun]
server: %(SG_ED_SITE_URL)s
name: %(SG_ED_SCRIPT_NAME)s
key: %(SG_ED_API_KEY)s
proxy_server:
use_session_uuid: True

[plugins]
paths: /usr/local/shotgun/plugins,
    /srv/more_plugins

[emails]
enabled: True
server: smtp.yourdomain.com
from: support@yourdomain.com
to: you@yourdomain.com, ops@yourdomain.com
subject: [SG]
)";

const config::IniFile::Environment kEnv = {{"SG_ED_SITE_URL", "https://studio.example.com"},
                                           {"SG_ED_SCRIPT_NAME", "event_daemon"},
                                           {"SG_ED_API_KEY", "k3y"}};

TEST(DaemonConfig, TheOriginalExampleWorksUnchanged) {
  ConfigLoad load = parse_config(kOriginalExample, "shotgunEventDaemon.conf", kEnv);
  ASSERT_TRUE(load.ok()) << (load.problems.empty() ? "" : load.problems[0].describe());
  EXPECT_TRUE(load.problems.empty());
  const Config& c = *load.config;
  EXPECT_EQ(c.daemon.pid_file, "/var/log/shotgunEventDaemon/shotgunEventDaemon.pid");
  EXPECT_EQ(c.daemon.log_mode, 1);
  EXPECT_EQ(c.daemon.fetch_interval, std::chrono::seconds(5));
  EXPECT_EQ(c.daemon.max_event_batch_size, 500);
  EXPECT_FALSE(c.daemon.timing_log);
  EXPECT_EQ(c.shotgun.server, "https://studio.example.com");
  EXPECT_EQ(c.shotgun.key, "k3y");
  EXPECT_EQ(c.shotgun.proxy_server, "");
  EXPECT_TRUE(c.shotgun.use_session_uuid);
  EXPECT_EQ(c.plugin_paths,
            (std::vector<std::string>{"/usr/local/shotgun/plugins", "/srv/more_plugins"}));
  EXPECT_TRUE(c.emails.enabled);
  EXPECT_EQ(c.emails.port, 25);
  EXPECT_EQ(c.emails.to, (std::vector<std::string>{"you@yourdomain.com", "ops@yourdomain.com"}));
  // New keys keep their defaults.
  EXPECT_EQ(c.daemon.worker_per, WorkerPer::kPlugin);
  EXPECT_EQ(c.daemon.backlog_timeout, std::chrono::minutes(5));
  EXPECT_EQ(c.daemon.checkpoint_interval, std::chrono::seconds(1));
  EXPECT_EQ(c.python.interpreter, SGEVENTD_DEFAULT_PYTHON);
  EXPECT_EQ(c.python.interpreter[0], '/') << "the system's Python, not PATH's";
}

TEST(DaemonConfig, EveryProblemIsReportedWithItsLine) {
  const char* text = R"([daemon]
pidFile: /tmp/x.pid
logMode: 7
fetch_interval = soon
max_event_batch_size = 0
worker_per = thread
misspelled_key = 1
pipeline_window = 0

[shotgun]
server: ftp://x
name: a
key: b
use_session_uuid: maybe
)";
  ConfigLoad load = parse_config(text, "bad.conf", {});
  EXPECT_FALSE(load.ok());
  std::vector<std::string> described;
  for (const auto& p : load.problems) described.push_back(p.describe());
  const auto has = [&](const std::string& needle) {
    return std::any_of(described.begin(), described.end(),
                       [&](const std::string& d) { return d.find(needle) != std::string::npos; });
  };
  EXPECT_TRUE(has("bad.conf:3: error: [daemon] logmode must be between 0 and 1, got 7"));
  EXPECT_TRUE(has("bad.conf:4: error: [daemon] fetch_interval must be a number of seconds"));
  EXPECT_TRUE(has("bad.conf:5: error: [daemon] max_event_batch_size must be between 1"));
  EXPECT_TRUE(has("bad.conf:6: error: [daemon] worker_per must be 'plugin' or 'path'"));
  EXPECT_TRUE(has("bad.conf:7: warning: [daemon] misspelled_key is not a known key"));
  EXPECT_TRUE(has("bad.conf:8: error: [daemon] pipeline_window must be between 1 and 4096"));
  EXPECT_TRUE(has("bad.conf:11: error: [shotgun] server must be an http(s) URL or 'sandbox'"));
  EXPECT_TRUE(has("bad.conf:14: error: [shotgun] use_session_uuid must be a boolean"));
  EXPECT_TRUE(has("error: [daemon] eventidfile is required"));
  EXPECT_TRUE(has("error: the [plugins] section is missing"));
}

TEST(DaemonConfig, MissingEnvironmentVariableIsAnError) {
  ConfigLoad load = parse_config(kOriginalExample, "c.conf", {});
  EXPECT_FALSE(load.ok());
  ASSERT_FALSE(load.problems.empty());
  EXPECT_NE(load.problems[0].describe().find("c.conf:16"), std::string::npos)
      << load.problems[0].describe();
}

TEST(DaemonConfig, TheEnvironmentSetsKeysOverTheFileLiterally) {
  // The original example with its %(...)s unset: the variables that replace them win, and
  // their values are taken as they are (a % in a key is no interpolation).
  const std::string key_file = ::testing::TempDir() + "/sgeventd_key_file";
  std::ofstream(key_file) << "s3cr%t-key\n";
  ConfigLoad load = parse_config(kOriginalExample, "c.conf",
                                 {{"SGEVENTD_SERVER", "https://studio.example.com"},
                                  {"SGEVENTD_SCRIPT_NAME", "daemon"},
                                  {"SGEVENTD_SCRIPT_KEY_FILE", key_file},
                                  {"SGEVENTD_FETCH_INTERVAL", "2.5"},
                                  {"SGEVENTD_EVENT_ID_FILE", "/state/sgeventd.id"},
                                  {"SGEVENTD_PLUGIN_PATHS", "/plugins,/more"},
                                  {"SGEVENTD_LOG_JSON", "on"},
                                  {"SGEVENTD_ADMIN_PORT", "8080"},
                                  {"SGEVENTD_LOG_PATH", ""}});  // empty: unset
  ASSERT_TRUE(load.ok()) << load.problems[0].describe();
  const Config& c = *load.config;
  EXPECT_EQ(c.shotgun.server, "https://studio.example.com");
  EXPECT_EQ(c.shotgun.name, "daemon");
  EXPECT_EQ(c.shotgun.key, "s3cr%t-key");
  EXPECT_EQ(c.daemon.fetch_interval, std::chrono::milliseconds(2500));
  EXPECT_EQ(c.daemon.event_id_file, "/state/sgeventd.id");
  EXPECT_EQ(c.plugin_paths, (std::vector<std::string>{"/plugins", "/more"}));
  EXPECT_TRUE(c.daemon.log_json);
  EXPECT_EQ(c.admin.port, 8080);
  std::filesystem::remove(key_file);
}

TEST(DaemonConfig, AnEnvironmentValueIsCheckedAndItsProblemNamesTheVariable) {
  ConfigLoad load = parse_config(
      "[daemon]\npidFile: p\neventIdFile: s\n[shotgun]\nserver: sandbox\n[plugins]\npaths: x\n",
      "s.conf",
      {{"SGEVENTD_FETCH_INTERVAL", "soon"},
       {"SGEVENTD_SCRIPT_KEY", "k"},
       {"SGEVENTD_SCRIPT_KEY_FILE", "/nonexistent/key"},
       {"SGEVENTD_ADMIN_TOKEN_FILE", "/nonexistent/token"}});
  EXPECT_FALSE(load.ok());
  std::string all;
  for (const auto& p : load.problems) all += p.describe() + "\n";
  EXPECT_NE(all.find("environment SGEVENTD_FETCH_INTERVAL: error: [daemon] fetch_interval"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("both SGEVENTD_SCRIPT_KEY and SGEVENTD_SCRIPT_KEY_FILE"), std::string::npos)
      << all;
  EXPECT_NE(all.find("cannot read /nonexistent/token"), std::string::npos) << all;
}

TEST(DaemonConfig, SandboxNeedsNoScript) {
  ConfigLoad load = parse_config(
      "[daemon]\npidFile: /tmp/p\neventIdFile: /tmp/s\n[shotgun]\nserver: sandbox\n"
      "[plugins]\npaths: examples/plugins\n",
      "s.conf", {});
  ASSERT_TRUE(load.ok()) << load.problems[0].describe();
  EXPECT_TRUE(load.config->shotgun.is_sandbox());
}

TEST(DaemonConfig, NewKeysParse) {
  ConfigLoad load = parse_config(
      "[daemon]\npidFile: p\neventIdFile: s\nworker_per: path\ncallback_timeout: 2.5\n"
      "retries: 3\ninclude_projects: 1, 2\nworker_memory_limit: 512\nlog_json: yes\n"
      "pipeline_window: 16\n"
      "[shotgun]\nserver: https://x\nname: n\nkey: k\n[plugins]\npaths: a\n"
      "[python]\ninterpreter: /opt/py/bin/python3.9\npath: /a, /b\nenv: A=1, B = two\n",
      "n.conf", {});
  ASSERT_TRUE(load.ok()) << load.problems[0].describe();
  const Config& c = *load.config;
  EXPECT_EQ(c.daemon.worker_per, WorkerPer::kPath);
  EXPECT_EQ(c.daemon.callback_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(c.daemon.retries, 3);
  EXPECT_EQ(c.daemon.include_projects, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(c.daemon.worker_memory_limit_mb, 512);
  EXPECT_TRUE(c.daemon.log_json);
  EXPECT_EQ(c.daemon.pipeline_window, 16);
  EXPECT_EQ(c.python.interpreter, "/opt/py/bin/python3.9");
  EXPECT_EQ(c.python.path, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(c.python.env,
            (std::vector<std::pair<std::string, std::string>>{{"A", "1"}, {"B", "two"}}));
}

TEST(DaemonConfig, PythonForkServerAndAdminKeys) {
  const auto parse = [](const std::string& extra) {
    return parse_config(
        "[daemon]\npidFile: p\neventIdFile: s\n[shotgun]\nserver: sandbox\n"
        "[plugins]\npaths: a\n" +
            extra,
        "a.conf", {});
  };
  ConfigLoad defaults = parse("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults.config->python.fork_server);
  EXPECT_TRUE(defaults.config->admin.enabled);
  EXPECT_EQ(defaults.config->admin.bind, "127.0.0.1");
  EXPECT_EQ(defaults.config->admin.port, 0);

  ConfigLoad set = parse(
      "[python]\nfork_server: off\npreload: yaml, requests\n"
      "[admin]\nbind: 0.0.0.0\nport: 8090\ntoken: t\nhealth_max_lag: 50\n");
  ASSERT_TRUE(set.ok()) << set.problems[0].describe();
  EXPECT_FALSE(set.config->python.fork_server);
  EXPECT_EQ(set.config->python.preload, (std::vector<std::string>{"yaml", "requests"}));
  EXPECT_EQ(set.config->admin.port, 8090);
  EXPECT_EQ(set.config->admin.health_max_lag, 50);

  ConfigLoad open = parse("[admin]\nbind: 0.0.0.0\n");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.problems[0].describe().find("a.conf:"), std::string::npos);
  EXPECT_NE(open.problems[0].describe().find("set [admin] token"), std::string::npos)
      << open.problems[0].describe();
  EXPECT_TRUE(parse("[admin]\nbind: 0.0.0.0\nenabled: false\n").ok());
}

TEST(DaemonConfig, AdaptivePollingAndWebhookKeys) {
  const auto parse = [](const std::string& daemon, const std::string& extra,
                        const config::IniFile::Environment& env = {}) {
    return parse_config("[daemon]\npidFile: p\neventIdFile: s\n" + daemon +
                            "[shotgun]\nserver: sandbox\n[plugins]\npaths: a\n" + extra,
                        "w.conf", env);
  };
  ConfigLoad defaults = parse("", "");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults.config->daemon.adaptive_polling);
  EXPECT_EQ(defaults.config->daemon.fetch_interval_min.count(), 0);
  EXPECT_EQ(defaults.config->admin.webhook_secret, "");
  EXPECT_FALSE(defaults.config->sandbox.webhooks);

  ConfigLoad set =
      parse("adaptive_polling: off\nfetch_interval_min: 0.25\nfetch_interval_max: 20\n",
            "[admin]\nwebhook_secret: hook\n[sandbox]\nwebhooks: on\n"
            "webhooks_batched: on\n");
  ASSERT_TRUE(set.ok()) << set.problems[0].describe();
  EXPECT_FALSE(set.config->daemon.adaptive_polling);
  EXPECT_EQ(set.config->daemon.fetch_interval_min, std::chrono::milliseconds(250));
  EXPECT_EQ(set.config->daemon.fetch_interval_max, std::chrono::seconds(20));
  EXPECT_EQ(set.config->admin.webhook_secret, "hook");
  EXPECT_TRUE(set.config->sandbox.webhooks_batched);
  ASSERT_EQ(set.problems.size(), 1u);  // the bounds are for adaptive polling only
  EXPECT_NE(set.problems[0].message.find("used only with adaptive_polling = on"),
            std::string::npos);

  ConfigLoad inverted = parse("fetch_interval_min: 30\nfetch_interval_max: 10\n", "");
  ASSERT_FALSE(inverted.ok());
  EXPECT_NE(inverted.problems[0].describe().find("w.conf:4: error: [daemon] fetch_interval_min is "
                                                 "above fetch_interval_max"),
            std::string::npos)
      << inverted.problems[0].describe();

  ConfigLoad no_admin = parse("", "[admin]\nenabled: false\n[sandbox]\nwebhooks: on\n");
  ASSERT_FALSE(no_admin.ok());
  EXPECT_NE(no_admin.problems[0].message.find("[admin] enabled is off"), std::string::npos);

  // The secret from a file, as containers give secrets.
  const std::string file = ::testing::TempDir() + "/sgeventd_webhook_secret";
  std::ofstream(file) << "from-a-file\n";
  ConfigLoad env = parse("", "", {{"SGEVENTD_ADMIN_WEBHOOK_SECRET_FILE", file}});
  ASSERT_TRUE(env.ok()) << env.problems[0].describe();
  EXPECT_EQ(env.config->admin.webhook_secret, "from-a-file");
  std::filesystem::remove(file);
}

TEST(DaemonConfig, StateKeysPutTheStateInPostgresql) {
  const auto parse = [](const std::string& server, const std::string& state,
                        const config::IniFile::Environment& env = {}) {
    return parse_config("[daemon]\npidFile: p\neventIdFile: s\n[shotgun]\nserver: " + server +
                            "\nname: triggers\nkey: k\n[plugins]\npaths: a\n" + state,
                        "st.conf", env);
  };
  ConfigLoad sqlite = parse("sandbox", "");
  ASSERT_TRUE(sqlite.ok());
  EXPECT_FALSE(sqlite.config->state.shared());
  EXPECT_EQ(sqlite.config->state.lease, std::chrono::seconds(10));

  ConfigLoad shared = parse("https://Studio.shotgrid.autodesk.com/",
                            "[state]\nurl: postgresql://ev@db/sgeventd\nlease_seconds: 6\n");
  ASSERT_TRUE(shared.ok()) << shared.problems[0].describe();
  EXPECT_TRUE(shared.config->state.shared());
  EXPECT_EQ(shared.config->state.lease, std::chrono::seconds(6));
  EXPECT_EQ(state_name(*shared.config), "studio.shotgrid.autodesk.com/triggers");
  EXPECT_EQ(state_name(*sqlite.config), "sandbox/triggers");
  ConfigLoad named = parse("sandbox", "[state]\nurl: postgresql:///s\nname: farm-a\n");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(state_name(*named.config), "farm-a");

  ConfigLoad short_lease = parse("sandbox", "[state]\nurl: postgresql:///s\nlease_seconds: 1\n");
  ASSERT_FALSE(short_lease.ok());
  EXPECT_NE(short_lease.problems[0].message.find("at least 2"), std::string::npos);
  ConfigLoad not_pg = parse("sandbox", "[state]\nurl: mysql://db/s\n");
  ASSERT_FALSE(not_pg.ok());
  EXPECT_NE(not_pg.problems[0].message.find("must be a PostgreSQL URI"), std::string::npos);
  ConfigLoad idle = parse("sandbox", "[state]\nlease_seconds: 5\n");
  ASSERT_TRUE(idle.ok());
  ASSERT_EQ(idle.problems.size(), 1u);
  EXPECT_NE(idle.problems[0].message.find("no effect without [state] url"), std::string::npos);

  // The URL, which may carry a password, from a file.
  const std::string file = ::testing::TempDir() + "/sgeventd_state_url";
  std::ofstream(file) << "postgresql://ev:pw@db/sgeventd\n";
  ConfigLoad env = parse("sandbox", "", {{"SGEVENTD_STATE_URL_FILE", file}});
  ASSERT_TRUE(env.ok()) << env.problems[0].describe();
  EXPECT_EQ(env.config->state.url, "postgresql://ev:pw@db/sgeventd");
  std::filesystem::remove(file);
}

TEST(DaemonConfig, LoopPreventionIsPerCallbackDaemonWideOrOff) {
  const auto parse = [](const std::string& value) {
    return parse_config("[daemon]\npidFile: p\neventIdFile: s\nloop_prevention: " + value +
                            "\n[shotgun]\nserver: sandbox\n[plugins]\npaths: a\n",
                        "l.conf", {});
  };
  using dispatch::LoopPrevention;
  for (const auto& [value, mode] :
       std::vector<std::pair<std::string, LoopPrevention>>{{"on", LoopPrevention::kPerCallback},
                                                           {"True", LoopPrevention::kPerCallback},
                                                           {"Daemon", LoopPrevention::kDaemon},
                                                           {"off", LoopPrevention::kOff},
                                                           {"0", LoopPrevention::kOff}}) {
    ConfigLoad load = parse(value);
    ASSERT_TRUE(load.ok()) << value;
    EXPECT_EQ(load.config->daemon.loop_prevention, mode) << value;
  }
  ConfigLoad bad = parse("sometimes");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      bad.problems[0].describe().find("must be on (per callback), daemon (every plugin) or off"),
      std::string::npos)
      << bad.problems[0].describe();
}

TEST(DaemonConfig, EmailsEnabledNeedTheirKeys) {
  ConfigLoad load = parse_config(
      "[daemon]\npidFile: p\neventIdFile: s\n[shotgun]\nserver: sandbox\n[plugins]\npaths: a\n"
      "[emails]\nenabled: true\nserver: smtp\n",
      "e.conf", {});
  EXPECT_FALSE(load.ok());
  int missing = 0;
  for (const auto& p : load.problems)
    missing += p.message.find("required when emails") != std::string::npos;
  EXPECT_EQ(missing, 3);  // from, to, subject
}

TEST(DaemonConfig, FindConfigOrder) {
  const std::string dir = ::testing::TempDir() + "/find_config_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::FILE* f = std::fopen((dir + "/shotgunEventDaemon.conf").c_str(), "w");
  std::fclose(f);
  EXPECT_EQ(*find_config("", {}, dir), dir + "/shotgunEventDaemon.conf");
  f = std::fopen((dir + "/sgeventd.conf").c_str(), "w");
  std::fclose(f);
  EXPECT_EQ(*find_config("", {}, dir), dir + "/sgeventd.conf");
  EXPECT_EQ(*find_config("", {{"SGEVENTD_CONFIG", dir + "/shotgunEventDaemon.conf"}}, dir),
            dir + "/shotgunEventDaemon.conf");
  EXPECT_FALSE(find_config(dir + "/nope.conf", {}, dir));
  auto none = find_config("", {}, dir + "/empty");
  if (!none) {  // unless this machine has one in /etc
    EXPECT_NE(none.error().find("searched"), std::string::npos);
  }
}

}  // namespace
}  // namespace sgeventd::daemon
