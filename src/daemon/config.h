// The daemon's configuration: every key of shotgunEventDaemon.conf with the original's meaning
// and default, plus sgeventd's own keys documented beside them (docs/configuration.md).
//
// Loading never stops at the first problem: it returns every error and warning with its file
// and line, so `sgeventd check-config` can list them all and startup can refuse a bad file
// with one complete message.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/ini.h"
#include "dispatch/loop_prevention.h"

namespace sgeventd::daemon {

struct ConfigProblem {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;
  std::string message;

  std::string describe() const;  // "file:line: error: message"
};

// A problem of a key, placed where the key was set: its file and line, or the environment
// variable that set it (config::IniFile::set).
ConfigProblem problem_at(const config::IniFile& ini, ConfigProblem::Severity severity,
                         const std::string& section, const std::string& key, std::string message);

enum class WorkerPer { kPlugin, kPath };

struct DaemonSettings {
  std::string pid_file;
  std::string event_id_file;  // the state: SQLite (a legacy pickle found there is imported)
  int log_mode = 1;           // 0: all in the main log; 1: one file per plugin too
  std::string log_path;       // folder; empty: log_file is used as given
  std::string log_file = "shotgunEventDaemon";
  int log_level = 20;  // Python's numbers
  bool timing_log = false;
  std::chrono::seconds conn_retry_sleep{60};
  int max_conn_retries = 5;
  std::chrono::milliseconds fetch_interval{5000};
  int max_event_batch_size = 500;
  // Adaptive polling (source/poll_schedule.h): fetch_interval becomes the average read
  // budget; reads come fetch_interval_min apart after activity and stretch to
  // fetch_interval_max when quiet. 0: fetch_interval / 10 and fetch_interval * 2.
  bool adaptive_polling = true;
  std::chrono::milliseconds fetch_interval_min{0};
  std::chrono::milliseconds fetch_interval_max{0};

  // sgeventd's own keys.
  WorkerPer worker_per = WorkerPer::kPlugin;
  std::chrono::milliseconds callback_timeout{0};  // 0: none
  int retries = 0;                                // attempts after the first failure
  std::chrono::milliseconds retry_backoff{1000};  // doubled per attempt
  std::chrono::milliseconds reactivation{0};      // 0: a deactivated plugin waits for an edit
  std::chrono::milliseconds checkpoint_interval{1000};
  std::chrono::milliseconds backlog_timeout{300000};
  int queue_size = 1000;                    // events queued per plugin before it reads alone
  int pipeline_window = 128;                // events sent to a worker before their results
  std::int64_t worker_memory_limit_mb = 0;  // 0: none
  // What a plugin may write to the logs (stderr and log messages); beyond, lines are dropped
  // and counted. 0: no limit.
  int plugin_log_lines_per_second = 1000;
  std::int64_t plugin_log_bytes_per_minute = std::int64_t{16} << 20;
  std::chrono::milliseconds shutdown_grace{10000};
  bool server_side_filters = false;  // push event types to the site
  std::vector<std::int64_t> include_projects;
  std::vector<std::int64_t> exclude_projects;
  // on: a callback never gets the events its own script made; daemon: no plugin gets the
  // events of any of the daemon's scripts (dispatch/loop_prevention.h)
  dispatch::LoopPrevention loop_prevention = dispatch::LoopPrevention::kOff;
  bool log_json = false;  // JSON lines on stdout
  bool log_files = true;  // off: no log file, stdout only (a read-only container)
};

struct ShotgunSettings {
  std::string server;  // a site URL, or "sandbox" for the embedded sandbox site
  std::string name;
  std::string key;
  std::string proxy_server;
  bool use_session_uuid = true;
  bool is_sandbox() const { return server == "sandbox"; }
};

struct EmailSettings {
  bool enabled = false;
  std::string server;
  int port = 25;
  bool use_tls = false;
  std::string username;
  std::string password;
  std::string from;
  std::vector<std::string> to;
  std::string subject;
};

// The system Python (CMake SGEVENTD_STANDIN_PYTHON, /usr/bin/python3): the one the
// shotgun_api3 stand-in is built for, and what "the system python3" means on a server where
// pyenv or a module system may put another python3 first on PATH.
#ifndef SGEVENTD_DEFAULT_PYTHON
#define SGEVENTD_DEFAULT_PYTHON "/usr/bin/python3"
#endif

struct PythonSettings {
  std::string interpreter = SGEVENTD_DEFAULT_PYTHON;
  std::vector<std::string> path;
  std::vector<std::pair<std::string, std::string>> env;
  // Workers forked from one warm interpreter (workers/fork_server.h); off: each spawned.
  bool fork_server = true;
  std::vector<std::string> preload;  // modules the fork server imports before any fork
};

// The embedded sandbox site, when [shotgun] server = sandbox (docs/sandbox.md).
struct SandboxSettings {
  int port = 0;      // 0: any free port (the daemon logs the URL)
  std::string data;  // SQLite file keeping the site across restarts; empty: memory
  std::string seed;  // JSON entities for an empty site
  // A studio's schema instead of the starter one (docs/sandbox.md, "A studio's schema").
  std::string schema;
  std::string schema_entity;
  bool test_controls = false;  // /_sandbox/<action> on loopback
  int activity_rate = 0;       // generated events per second (a demo), 0: none
  // Signed webhooks to the daemon's own POST /webhook for every event (a demo of the
  // wake-up; needs the admin API), one per event or batched as a site can.
  bool webhooks = false;
  bool webhooks_batched = false;
};

// The admin HTTP server (docs/admin-api.md).
struct AdminSettings {
  bool enabled = true;
  std::string bind = "127.0.0.1";  // another address needs `token`
  int port = 0;                    // 0: any free port (written to the status file as "admin")
  std::string token;               // clients send "Authorization: Bearer <token>"
  // POST /webhook accepts deliveries signed with this (X-SG-SIGNATURE); empty: no webhooks.
  std::string webhook_secret;
  // /healthz: unhealthy past these.
  std::int64_t health_max_lag = 10000;  // events a plugin's cursor may trail the feed
  int health_poll_failures = 3;         // failed reads of the event log in a row
};

// Where the state lives (docs/high-availability.md). Without a url: SQLite at eventIdFile.
struct StateSettings {
  std::string url;  // a libpq connection URI: PostgreSQL, shared by a leader and its standbys
  // Whose rows these are in the database; empty: derived from the site and the script name
  // (state_name() below).
  std::string name;
  std::string password_file;  // the database password, when the URL carries none
  std::chrono::milliseconds lease{10'000};

  bool shared() const { return !url.empty(); }
};

struct Config {
  std::string file;
  DaemonSettings daemon;
  ShotgunSettings shotgun;
  std::vector<std::string> plugin_paths;
  EmailSettings emails;
  PythonSettings python;
  SandboxSettings sandbox;
  AdminSettings admin;
  StateSettings state;
  config::IniFile ini;  // the whole file, for plugins' own sections
};

// [state] name, or "<site host>/<script name>" ("sandbox/<script name>" for the embedded site,
// whose address changes every start): the daemons of one site and script share a state.
std::string state_name(const Config& config);

struct ConfigLoad {
  std::optional<Config> config;  // empty when there are errors
  std::vector<ConfigProblem> problems;
  bool ok() const { return config.has_value(); }
};

// The [daemon] keys, spelled as the docs and the original spell them (pidFile, fetch_interval).
const std::vector<std::string>& daemon_key_names();

// Reads and checks a config file. `env` stands in for the process environment.
ConfigLoad load_config(const std::string& path, const config::IniFile::Environment& env);
ConfigLoad parse_config(std::string_view text, const std::string& file_name,
                        const config::IniFile::Environment& env);

// The path find_config gives when no file is found but SGEVENTD_SERVER is set: the settings
// are the environment's alone (docs/configuration.md, "From the environment"). load_config
// reads it as an empty file with the environment over it.
inline constexpr const char* kEnvironmentOnly = "(environment)";

// Where the config is: `explicit_path` (-c), else SGEVENTD_CONFIG, else the first of
// sgeventd.conf and shotgunEventDaemon.conf found beside the executable, in
// <prefix>/etc/sgeventd, /etc/sgeventd, then /etc; else kEnvironmentOnly when SGEVENTD_SERVER
// is set. An error lists the places searched.
::sgeventd::Expected<std::string, std::string> find_config(const std::string& explicit_path,
                                                           const config::IniFile::Environment& env,
                                                           const std::string& executable_dir);

}  // namespace sgeventd::daemon
