// The daemon's verbs, as shotgunEvents has them: start (daemonize), stop, restart, foreground,
// status (reload is with the operator's commands, control_commands.cpp). Exit codes: docs/cli.md.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/daemon_config.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/health.h"
#include "daemon/pid_file.h"
#include "sgeventd/json.h"

namespace sgeventd::cli {

namespace {

struct FoundConfig {
  std::string path;
  daemon::ConfigLoad loaded;
};

// The config found and loaded as the daemon would; nullopt (said why) when none is found.
std::optional<FoundConfig> find_and_load(const std::string& config_arg, const char* verb,
                                         const config::IniFile::Environment& env) {
  auto path = daemon::find_config(config_arg, env, executable_dir());
  if (!path) {
    std::cerr << "sgeventd " << verb << ": " << path.error() << "\n";
    return std::nullopt;
  }
  return FoundConfig{*path, daemon::load_config(*path, env)};
}

}  // namespace

// Finds and loads the config; prints every problem. nullopt: refuse (exit 2).
std::optional<daemon::Config> load_daemon_config(const std::string& config_arg, const char* verb) {
  auto found = find_and_load(config_arg, verb, config::IniFile::process_environment());
  if (!found) return std::nullopt;
  const std::string& path = found->path;
  daemon::ConfigLoad& loaded = found->loaded;
  for (const auto& p : loaded.problems) std::cerr << p.describe() << "\n";
  if (!loaded.ok()) {
    std::cerr << "sgeventd " << verb << ": " << path << " has errors; not starting\n";
    return std::nullopt;
  }
  return std::move(loaded.config);
}

namespace {

// stop and status need only the pid file: a config whose other values fail (a %(SECRET)s unset
// in the operator's shell) still names it. The whole config when it loads; else one with
// only its pidFile (defaults for the rest); nullopt when even that cannot be read.
std::optional<daemon::Config> load_config_for_pid_file(const std::string& config_arg,
                                                       const char* verb) {
  const auto env = config::IniFile::process_environment();
  auto found = find_and_load(config_arg, verb, env);
  if (!found) return std::nullopt;
  const std::string& path = found->path;
  daemon::ConfigLoad& loaded = found->loaded;
  if (loaded.ok()) return std::move(loaded.config);
  auto ini = path == daemon::kEnvironmentOnly ? config::IniFile::parse("", path, env)
                                              : config::IniFile::load(path, env);
  std::string pid_file;
  if (ini) {
    if (auto v = ini->get("daemon", "pidfile"); v && *v) pid_file = **v;
    if (auto it = env.find("SGEVENTD_PID_FILE"); it != env.end() && !it->second.empty()) {
      pid_file = it->second;
    }
  }
  pid_file.erase(0, pid_file.find_first_not_of(" \t"));
  pid_file.erase(pid_file.find_last_not_of(" \t") + 1);
  if (pid_file.empty()) {
    for (const auto& p : loaded.problems) std::cerr << p.describe() << "\n";
    std::cerr << "sgeventd " << verb << ": " << path << " has errors; not starting\n";
    return std::nullopt;
  }
  std::cerr << "sgeventd " << verb << ": " << path << " has " << loaded.problems.size()
            << " problem(s) (sgeventd check-config lists them); only its pidFile is needed here\n";
  daemon::Config c{path, {}, {}, {}, {}, {}, {}, {}, {}, std::move(*ini)};
  c.daemon.pid_file = pid_file;
  return c;
}

void block_daemon_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);  // reopens the log files (logrotate), never kills
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a worker that died mid-write is noticed by the session
  // A file-size limit (ulimit -f) would kill the daemon mid-commit; ignored, a write past it
  // fails with EFBIG and is handled as a full disk is (cursors held, alert, retried). Workers
  // get the default back (worker_process.cpp).
  signal(SIGXFSZ, SIG_IGN);
}

}  // namespace

int run_one_shot(const daemon::Config& config, daemon::OneShot& shot, bool console_log) {
  block_daemon_signals();
  daemon::RunOptions o;
  o.foreground = console_log;
  o.executable_dir = executable_dir();
  o.one_shot = &shot;
  return daemon::run_daemon(config, o);
}

namespace {

int run_foreground(const std::string& config_arg) {
  auto config = load_daemon_config(config_arg, "foreground");
  if (!config) return kExitUsage;
  block_daemon_signals();
  daemon::RunOptions o;
  o.foreground = true;
  o.executable_dir = executable_dir();
  return daemon::run_daemon(*config, o);
}

// Forks twice so the daemon is no session leader; the first parent waits for the daemon to
// say whether startup worked, so `start` reports a refused start with the reason.
int run_start(const std::string& config_arg) {
  auto config = load_daemon_config(config_arg, "start");
  if (!config) return kExitUsage;
  if (!config->daemon.log_files) {
    std::cerr << "sgeventd start: [daemon] log_files is off, so a daemon in the background "
                 "would log nowhere; run `sgeventd foreground` (a container, systemd) or turn "
                 "log files on\n";
    return kExitUsage;
  }
  if (auto pid = daemon::running_daemon(config->daemon.pid_file)) {
    std::cerr << "sgeventd start: already running (pid " << *pid << ", " << config->daemon.pid_file
              << ")\n";
    return kExitFailure;
  }
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    std::perror("sgeventd start: pipe");
    return kExitFailure;
  }
  const pid_t first = fork();
  if (first < 0) {
    std::perror("sgeventd start: fork");
    return kExitFailure;
  }
  if (first == 0) {
    close(report[0]);
    setsid();
    if (fork() != 0) _exit(0);
    umask(022);
    const int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      if (null > 2) close(null);
    }
    block_daemon_signals();
    daemon::RunOptions o;
    o.foreground = false;
    o.executable_dir = executable_dir();
    const int fd = report[1];
    o.on_started = [fd](const std::string& error) {
      const std::string message = error.empty() ? "ok" : error;
      [[maybe_unused]] auto n = write(fd, message.data(), message.size());
      close(fd);
    };
    _exit(daemon::run_daemon(*config, o));
  }
  close(report[1]);
  waitpid(first, nullptr, 0);
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = read(report[0], buf, sizeof buf)) > 0) answer.append(buf, static_cast<size_t>(n));
  close(report[0]);
  if (answer == "ok") {
    auto pid = daemon::running_daemon(config->daemon.pid_file);
    std::cout << "sgeventd started (pid " << (pid ? std::to_string(*pid) : "?") << ")\n";
    return kExitOk;
  }
  std::cerr << "sgeventd start: "
            << (answer.empty() ? "the daemon exited during startup (see its log)" : answer) << "\n";
  return kExitFailure;
}

int stop_daemon(const daemon::Config& config, int timeout_s) {
  auto pid = daemon::running_daemon(config.daemon.pid_file);
  if (!pid) {
    std::cout << "sgeventd is not running\n";
    return kExitOk;
  }
  if (kill(*pid, SIGTERM) != 0) {
    std::perror("sgeventd stop: kill");
    return kExitFailure;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!daemon::running_daemon(config.daemon.pid_file)) {
      std::cout << "sgeventd stopped (pid " << *pid << ")\n";
      return kExitOk;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cerr << "sgeventd stop: pid " << *pid << " did not stop within " << timeout_s << " s\n";
  return kExitFailure;
}

int default_stop_timeout(const daemon::Config& c) {
  return static_cast<int>(
             std::chrono::duration_cast<std::chrono::seconds>(c.daemon.shutdown_grace).count()) +
         15;
}

int run_stop(const std::string& config_arg, int timeout_s) {
  auto config = load_config_for_pid_file(config_arg, "stop");
  if (!config) return kExitUsage;
  return stop_daemon(*config, timeout_s > 0 ? timeout_s : default_stop_timeout(*config));
}

int run_restart(const std::string& config_arg, int timeout_s) {
  auto config = load_daemon_config(config_arg, "restart");
  if (!config) return kExitUsage;
  const int stopped =
      stop_daemon(*config, timeout_s > 0 ? timeout_s : default_stop_timeout(*config));
  if (stopped != kExitOk) return stopped;
  return run_start(config_arg);
}

// A value as people read it: strings bare, anything else as JSON.
std::string show(const Value& v) {
  if (const std::string* text = v.if_string()) return *text;
  return to_json(v, {.style = JsonStyle::Compact});
}

int run_status(const std::string& config_arg, bool json) {
  auto config = load_config_for_pid_file(config_arg, "status");
  if (!config) return kExitUsage;
  auto pid = daemon::running_daemon(config->daemon.pid_file);
  if (!pid) {
    if (json) {
      std::cout << "{\"running\": false}\n";
    } else {
      std::cout << "sgeventd is not running\n";
    }
    return kExitNotRunning;
  }
  std::ifstream in(daemon::status_file_path(*config));
  std::stringstream text;
  text << in.rdbuf();
  auto status = parse_json(text.str());
  if (!status || !status->is_dict()) {
    std::cout << (json
                      ? "{\"running\": true, \"pid\": " + std::to_string(*pid) + "}"
                      : "sgeventd is running (pid " + std::to_string(*pid) + "), still starting up")
              << "\n";
    return kExitOk;
  }
  // Usable as a health check: the /healthz rules, and a status file the daemon stopped
  // refreshing (it writes it every second).
  std::vector<std::string> problems = daemon::health_problems(
      *status, {config->admin.health_max_lag, config->admin.health_poll_failures});
  constexpr long long kStaleAfterS = 10;
  const long long now_s = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  if (const auto updated = (*status)["updated"].if_int();
      updated && now_s - *updated > kStaleAfterS) {
    problems.insert(problems.begin(), "the status file was last written " +
                                          std::to_string(now_s - *updated) +
                                          " s ago: the daemon may be stuck");
  }
  const int code = problems.empty() ? kExitOk : kExitFailure;
  if (json) {
    status->as_dict()["running"] = true;
    status->as_dict()["healthy"] = problems.empty();
    List listed;
    for (const auto& p : problems) listed.emplace_back(p);
    status->as_dict()["problems"] = std::move(listed);
    std::cout << to_json(*status, {.style = JsonStyle::Pretty}) << "\n";
    return code;
  }
  const Value& s = *status;
  std::cout << "sgeventd is running (pid " << *pid << "), site " << show(s["site"]);
  if (!s["feed_head"].is_null()) std::cout << ", newest event read " << show(s["feed_head"]);
  std::cout << "\n";
  for (const auto& p : problems) std::cout << "  problem: " << p << "\n";
  if (const auto* role = s["role"].if_string()) {  // a shared state (PostgreSQL)
    if (*role == "leader") {
      std::cout << "  leader of state '" << show(s["state_name"]) << "': lease epoch "
                << show(s["lease_epoch"]) << ", renewed " << show(s["lease_age_ms"])
                << " ms ago, good for " << show(s["lease_remaining_ms"]) << " ms more\n";
    } else {
      std::cout << "  standby for state '" << show(s["state_name"]) << "': led by "
                << (s["leader"].is_null() ? std::string("no daemon yet") : show(s["leader"]))
                << "; it takes over when that lease expires\n";
    }
  }
  if (const auto pause = s["poll_pause_ms"].if_int()) {
    std::cout << "  polling " << (s["adaptive_polling"].truthy() ? "adaptive" : "fixed")
              << ": the pause after the last read " << *pause / 1000 << "." << *pause % 1000 / 100
              << " s; " << show(s["webhook_reads"]) << " read(s) woken by webhooks\n";
  }
  if (const auto failures = s["poll_failures"].if_int(); failures && *failures > 0) {
    std::cout << "  the site is failing: " << *failures << " failed reads in a row\n";
  }
  if (const auto waiting = s["site_read_s"].if_int()) {
    std::cout << "  the site is slow: a read has waited " << *waiting << " s for its answer\n";
  }
  if (const List* plugins = s["plugins"].if_list()) {
    for (const Value& p : *plugins) {
      std::cout << "  " << show(p["name"]) << ": " << show(p["state"]) << ", cursor "
                << show(p["cursor"]) << ", committed " << show(p["committed"]) << ", lag "
                << show(p["lag"]) << ", worker " << show(p["worker"]) << " (" << show(p["mode"])
                << "), handled " << show(p["handled"]) << ", errors " << show(p["errors"]);
      if (!p["reason"].is_null()) std::cout << " - " << show(p["reason"]);
      std::cout << "\n";
    }
  }
  return code;
}

}  // namespace

void add_daemon_commands(CLI::App& app, Runner& run) {
  const std::string config_help =
      "config file (default: SGEVENTD_CONFIG, else sgeventd.conf or shotgunEventDaemon.conf "
      "beside the executable, then in /etc)";
  auto with_config = [&](CLI::App* sub) {
    auto config = std::make_shared<std::string>();
    sub->add_option("-c,--config", *config, config_help);
    return config;
  };

  auto* fg = app.add_subcommand(
      "foreground", "Run the daemon in this terminal, logging to stdout too. Ctrl-C stops it.");
  auto fg_config = with_config(fg);
  fg->callback([fg_config, &run] { run = [fg_config] { return run_foreground(*fg_config); }; });

  auto* start = app.add_subcommand(
      "start", "Start the daemon in the background (refused while another one runs).");
  auto start_config = with_config(start);
  start->callback(
      [start_config, &run] { run = [start_config] { return run_start(*start_config); }; });

  auto timeout = std::make_shared<int>(0);
  auto* stop = app.add_subcommand(
      "stop", "Stop the daemon: it finishes the events in hand, saves its state and exits.");
  auto stop_config = with_config(stop);
  stop->add_option("--timeout", *timeout,
                   "seconds to wait for it to exit (default: shutdown_grace + 15)");
  stop->callback([stop_config, timeout, &run] {
    run = [stop_config, timeout] { return run_stop(*stop_config, *timeout); };
  });

  auto* restart = app.add_subcommand("restart", "Stop the daemon (if it runs), then start it.");
  auto restart_config = with_config(restart);
  restart->add_option("--timeout", *timeout, "seconds to wait for the old one to exit");
  restart->callback([restart_config, timeout, &run] {
    run = [restart_config, timeout] { return run_restart(*restart_config, *timeout); };
  });

  auto json = std::make_shared<bool>(false);
  auto* status =
      app.add_subcommand("status",
                         "Whether the daemon runs, and each plugin's state, cursor and lag.\n"
                         "Exit status: 0 running and healthy, 1 running with problems (listed: a "
                         "deactivated or quarantined plugin, a failing site, a stale status file), "
                         "3 not running, 2 no usable pidFile in the config.");
  auto status_config = with_config(status);
  status->add_flag("--json", *json, "print the full status as JSON");
  status->callback([status_config, json, &run] {
    run = [status_config, json] { return run_status(*status_config, *json); };
  });
}

}  // namespace sgeventd::cli
