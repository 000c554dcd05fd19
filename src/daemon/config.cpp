#include "daemon/config.h"

#include "daemon/config_environment.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace sgeventd::daemon {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find_first_of(",\n", start);
    if (end == std::string::npos) end = text.size();
    std::string item = trim(std::string_view(text).substr(start, end - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

std::set<std::string> lowered(const std::vector<std::string>& names) {
  std::set<std::string> out;
  for (const auto& n : names) out.insert(config::ascii_lower(n));
  return out;
}

// The keys each section may hold (lower-cased, as configparser folds them).
const std::map<std::string, std::set<std::string>>& known_keys() {
  static const std::map<std::string, std::set<std::string>> keys = {
      {"daemon", lowered(daemon_key_names())},
      {"shotgun", {"server", "name", "key", "proxy_server", "use_session_uuid"}},
      {"plugins", {"paths"}},
      {"emails",
       {"enabled", "server", "port", "usetls", "username", "password", "from", "to", "subject"}},
      {"python", {"interpreter", "path", "env", "fork_server", "preload"}},
      {"sandbox",
       {"port", "data", "seed", "schema", "schema_entity", "test_controls", "activity_rate",
        "webhooks", "webhooks_batched"}},
      {"admin",
       {"enabled", "bind", "port", "token", "webhook_secret", "health_max_lag",
        "health_poll_failures"}},
      {"state", {"url", "name", "password_file", "lease_seconds"}},
  };
  return keys;
}

// Reads typed values and records every problem against the key's line.
class Reader {
 public:
  Reader(const config::IniFile& ini, std::vector<ConfigProblem>& problems)
      : ini_(ini), problems_(problems) {}

  void error(const std::string& section, const std::string& key, std::string message) {
    add(ConfigProblem::Severity::kError, section, key, std::move(message));
  }
  void warning(const std::string& section, const std::string& key, std::string message) {
    add(ConfigProblem::Severity::kWarning, section, key, std::move(message));
  }
  void add(ConfigProblem::Severity severity, const std::string& section, const std::string& key,
           std::string message) {
    problems_.push_back(problem_at(ini_, severity, section, key, std::move(message)));
  }

  // The raw (interpolated, trimmed) value, or nullopt if absent or broken (then reported).
  std::optional<std::string> text(const std::string& section, const std::string& key,
                                  bool required = false) {
    auto v = ini_.get(section, key);
    if (!v) {
      problems_.push_back(
          {ConfigProblem::Severity::kError, v.error().file, v.error().line, v.error().message});
      return std::nullopt;
    }
    if (!*v) {
      if (required) {
        problems_.push_back({ConfigProblem::Severity::kError, ini_.file_name(), 0,
                             "[" + section + "] " + key + " is required"});
      }
      return std::nullopt;
    }
    return trim(**v);
  }

  void string(const std::string& section, const std::string& key, std::string& out,
              bool required = false) {
    if (auto v = text(section, key, required)) {
      if (required && v->empty()) {
        error(section, key, "[" + section + "] " + key + " must not be empty");
        return;
      }
      out = *v;
    }
  }

  void integer(const std::string& section, const std::string& key, int& out, int min, int max,
               bool required = false) {
    std::int64_t wide = out;
    if (integer64(section, key, wide, min, max, required)) out = static_cast<int>(wide);
  }

  bool integer64(const std::string& section, const std::string& key, std::int64_t& out,
                 std::int64_t min, std::int64_t max, bool required = false) {
    auto v = text(section, key, required);
    if (!v) return false;
    std::int64_t parsed = 0;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), parsed);
    if (ec != std::errc() || end != v->data() + v->size()) {
      error(section, key, "[" + section + "] " + key + " must be a whole number, got '" + *v + "'");
      return false;
    }
    if (parsed < min || parsed > max) {
      error(section, key,
            "[" + section + "] " + key + " must be between " + std::to_string(min) + " and " +
                std::to_string(max) + ", got " + *v);
      return false;
    }
    out = parsed;
    return true;
  }

  // Seconds, possibly fractional ("0.5").
  void seconds(const std::string& section, const std::string& key, std::chrono::milliseconds& out,
               double max_seconds) {
    auto v = text(section, key);
    if (!v) return;
    char* end = nullptr;
    const double s = std::strtod(v->c_str(), &end);
    if (v->empty() || *end != '\0' || !std::isfinite(s) || s < 0 || s > max_seconds) {
      error(section, key,
            "[" + section + "] " + key + " must be a number of seconds from 0 to " +
                std::to_string(static_cast<long long>(max_seconds)) + ", got '" + *v + "'");
      return;
    }
    out = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000)));
  }

  void loop_prevention(const std::string& section, const std::string& key,
                       dispatch::LoopPrevention& out) {
    auto v = text(section, key);
    if (!v) return;
    if (auto b = config::IniFile::parse_bool(*v)) {
      out = *b ? dispatch::LoopPrevention::kPerCallback : dispatch::LoopPrevention::kOff;
    } else if (config::ascii_lower(*v) == "daemon") {
      out = dispatch::LoopPrevention::kDaemon;
    } else {
      error(section, key,
            "[" + section + "] " + key +
                " must be on (per callback), daemon (every plugin) or off, got '" + *v + "'");
    }
  }

  void boolean(const std::string& section, const std::string& key, bool& out) {
    auto v = text(section, key);
    if (!v) return;
    auto b = config::IniFile::parse_bool(*v);
    if (!b) {
      error(section, key,
            "[" + section + "] " + key +
                " must be a boolean (true/false, yes/no, on/off, 1/0), "
                "got '" +
                *v + "'");
      return;
    }
    out = *b;
  }

  void id_list(const std::string& section, const std::string& key, std::vector<std::int64_t>& out) {
    auto v = text(section, key);
    if (!v) return;
    for (const auto& item : split_list(*v)) {
      std::int64_t id = 0;
      const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
      if (ec != std::errc() || end != item.data() + item.size() || id <= 0) {
        error(section, key,
              "[" + section + "] " + key + " must list project ids, got '" + item + "'");
        continue;
      }
      out.push_back(id);
    }
  }

 private:
  const config::IniFile& ini_;
  std::vector<ConfigProblem>& problems_;
};

void read_daemon(Reader& r, DaemonSettings& d) {
  const std::string s = "daemon";
  r.string(s, "pidfile", d.pid_file, true);
  r.string(s, "eventidfile", d.event_id_file, true);
  r.integer(s, "logmode", d.log_mode, 0, 1);
  r.string(s, "logpath", d.log_path);
  r.string(s, "logfile", d.log_file);
  r.integer(s, "logging", d.log_level, 0, 50);
  // The original tests == "on": anything else was silently off. Said here instead.
  if (auto v = r.text(s, "timing_log")) {
    if (*v == "on" || *v == "off" || v->empty()) {
      d.timing_log = *v == "on";
    } else {
      r.error(s, "timing_log",
              "[daemon] timing_log must be on or off (shotgunEvents took '" + *v + "' for off)");
    }
  }
  std::chrono::milliseconds retry_sleep = d.conn_retry_sleep;
  r.seconds(s, "conn_retry_sleep", retry_sleep, 86400);
  d.conn_retry_sleep = std::chrono::duration_cast<std::chrono::seconds>(retry_sleep);
  r.integer(s, "max_conn_retries", d.max_conn_retries, 1, 1000000);
  r.seconds(s, "fetch_interval", d.fetch_interval, 3600);
  r.integer(s, "max_event_batch_size", d.max_event_batch_size, 1, 100000);
  r.boolean(s, "adaptive_polling", d.adaptive_polling);
  r.seconds(s, "fetch_interval_min", d.fetch_interval_min, 3600);
  r.seconds(s, "fetch_interval_max", d.fetch_interval_max, 3600);
  if (d.fetch_interval_min.count() > 0 && d.fetch_interval_max.count() > 0 &&
      d.fetch_interval_min > d.fetch_interval_max) {
    r.error(s, "fetch_interval_min", "[daemon] fetch_interval_min is above fetch_interval_max");
  }
  if (!d.adaptive_polling &&
      (d.fetch_interval_min.count() > 0 || d.fetch_interval_max.count() > 0)) {
    r.warning(s, "adaptive_polling",
              "[daemon] fetch_interval_min and fetch_interval_max are used only with "
              "adaptive_polling = on");
  }

  if (auto v = r.text(s, "worker_per")) {
    if (*v == "plugin") {
      d.worker_per = WorkerPer::kPlugin;
    } else if (*v == "path") {
      d.worker_per = WorkerPer::kPath;
    } else {
      r.error(s, "worker_per", "[daemon] worker_per must be 'plugin' or 'path', got '" + *v + "'");
    }
  }
  r.seconds(s, "callback_timeout", d.callback_timeout, 86400);
  r.integer(s, "retries", d.retries, 0, 1000);
  r.seconds(s, "retry_backoff", d.retry_backoff, 86400);
  r.seconds(s, "reactivation", d.reactivation, 30 * 86400);
  r.seconds(s, "checkpoint_interval", d.checkpoint_interval, 3600);
  r.seconds(s, "backlog_timeout", d.backlog_timeout, 7 * 86400);
  r.integer(s, "queue_size", d.queue_size, 1, 10000000);
  r.integer(s, "pipeline_window", d.pipeline_window, 1, 4096);
  r.integer64(s, "worker_memory_limit", d.worker_memory_limit_mb, 0, 1 << 20);
  r.integer(s, "plugin_log_lines_per_second", d.plugin_log_lines_per_second, 0, 10'000'000);
  r.integer64(s, "plugin_log_bytes_per_minute", d.plugin_log_bytes_per_minute, 0,
              std::int64_t{1} << 40);
  r.seconds(s, "shutdown_grace", d.shutdown_grace, 3600);
  r.boolean(s, "server_side_filters", d.server_side_filters);
  r.id_list(s, "include_projects", d.include_projects);
  r.id_list(s, "exclude_projects", d.exclude_projects);
  r.loop_prevention(s, "loop_prevention", d.loop_prevention);
  r.boolean(s, "log_json", d.log_json);
  r.boolean(s, "log_files", d.log_files);
  if (d.fetch_interval.count() == 0) {
    r.warning(s, "fetch_interval", "[daemon] fetch_interval 0 polls the site continuously");
  }
}

void read_shotgun(Reader& r, ShotgunSettings& sg) {
  const std::string s = "shotgun";
  r.string(s, "server", sg.server, true);
  r.string(s, "proxy_server", sg.proxy_server);
  r.boolean(s, "use_session_uuid", sg.use_session_uuid);
  if (sg.is_sandbox()) {
    // The embedded sandbox accepts the config's script; defaults keep a minimal config short.
    r.string(s, "name", sg.name);
    r.string(s, "key", sg.key);
    return;
  }
  r.string(s, "name", sg.name, true);
  r.string(s, "key", sg.key, true);
  if (!sg.server.empty() && sg.server.rfind("http://", 0) != 0 &&
      sg.server.rfind("https://", 0) != 0) {
    r.error(s, "server",
            "[shotgun] server must be an http(s) URL or 'sandbox', got '" + sg.server + "'");
  }
}

void read_emails(Reader& r, const config::IniFile& ini, EmailSettings& e) {
  const std::string s = "emails";
  if (!ini.has_section(s)) return;
  r.boolean(s, "enabled", e.enabled);
  r.string(s, "server", e.server);
  r.integer(s, "port", e.port, 1, 65535);
  r.boolean(s, "usetls", e.use_tls);
  r.string(s, "username", e.username);
  r.string(s, "password", e.password);
  r.string(s, "from", e.from);
  if (auto to = r.text(s, "to")) e.to = split_list(*to);
  r.string(s, "subject", e.subject);
  if (e.enabled) {
    for (const char* key : {"server", "from", "to", "subject"}) {
      if (!ini.has(s, key)) {
        r.error(s, key, std::string("[emails] ") + key + " is required when emails are enabled");
      }
    }
  }
}

void read_python(Reader& r, PythonSettings& p) {
  const std::string s = "python";
  r.string(s, "interpreter", p.interpreter);
  if (auto v = r.text(s, "path")) p.path = split_list(*v);
  r.boolean(s, "fork_server", p.fork_server);
  if (auto v = r.text(s, "preload")) p.preload = split_list(*v);
  if (auto v = r.text(s, "env")) {
    for (const auto& pair : split_list(*v)) {
      const auto eq = pair.find('=');
      if (eq == std::string::npos || eq == 0) {
        r.error(s, "env", "[python] env entries must be NAME=value, got '" + pair + "'");
        continue;
      }
      p.env.emplace_back(trim(pair.substr(0, eq)), trim(pair.substr(eq + 1)));
    }
  }
}

void read_sandbox(Reader& r, SandboxSettings& b) {
  const std::string s = "sandbox";
  r.integer(s, "port", b.port, 0, 65535);
  r.string(s, "data", b.data);
  r.string(s, "seed", b.seed);
  r.string(s, "schema", b.schema);
  r.string(s, "schema_entity", b.schema_entity);
  if (b.schema.empty() && !b.schema_entity.empty()) {
    r.error(s, "schema_entity", "[sandbox] schema_entity needs [sandbox] schema");
  }
  r.boolean(s, "test_controls", b.test_controls);
  r.integer(s, "activity_rate", b.activity_rate, 0, 100000);
  r.boolean(s, "webhooks", b.webhooks);
  r.boolean(s, "webhooks_batched", b.webhooks_batched);
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

void read_admin(Reader& r, AdminSettings& a) {
  const std::string s = "admin";
  r.boolean(s, "enabled", a.enabled);
  r.string(s, "bind", a.bind);
  r.integer(s, "port", a.port, 0, 65535);
  r.string(s, "token", a.token);
  r.string(s, "webhook_secret", a.webhook_secret);
  r.integer64(s, "health_max_lag", a.health_max_lag, 0, std::numeric_limits<std::int64_t>::max());
  r.integer(s, "health_poll_failures", a.health_poll_failures, 1, 1000000);
  if (a.enabled && !is_loopback(a.bind) && a.token.empty()) {
    r.error(s, "bind",
            "[admin] bind = " + a.bind +
                " is reachable from other machines: set [admin] token too (clients then send "
                "\"Authorization: Bearer <token>\"), or bind to 127.0.0.1");
  }
}

void read_state(Reader& r, StateSettings& st) {
  const std::string s = "state";
  r.string(s, "url", st.url);
  r.string(s, "name", st.name);
  r.string(s, "password_file", st.password_file);
  r.seconds(s, "lease_seconds", st.lease, 3600);
  if (st.lease < std::chrono::seconds(2)) {
    r.error(s, "lease_seconds",
            "[state] lease_seconds must be at least 2: the leader renews every third of it");
  }
  if (!st.url.empty() && !st.url.starts_with("postgresql://") &&
      !st.url.starts_with("postgres://")) {
    r.error(s, "url",
            "[state] url must be a PostgreSQL URI (postgresql://user@host/database); without a "
            "url the state is SQLite at [daemon] eventIdFile");
  }
  if (st.url.empty()) {
    for (const char* key : {"name", "password_file", "lease_seconds"}) {
      if (const auto v = r.text(s, key); !v || v->empty()) continue;
      r.warning(s, key, std::string("[state] ") + key + " has no effect without [state] url");
    }
  }
}

void warn_unknown_keys(Reader& r, const config::IniFile& ini) {
  for (const auto& [section, keys] : known_keys()) {
    for (const auto& key : ini.keys(section)) {
      if (!keys.count(key))
        r.warning(section, key, "[" + section + "] " + key + " is not a known key");
    }
  }
}

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

const std::vector<std::string>& daemon_key_names() {
  static const std::vector<std::string> names = {"pidFile",
                                                 "eventIdFile",
                                                 "logMode",
                                                 "logPath",
                                                 "logFile",
                                                 "logging",
                                                 "timing_log",
                                                 "conn_retry_sleep",
                                                 "max_conn_retries",
                                                 "fetch_interval",
                                                 "max_event_batch_size",
                                                 "adaptive_polling",
                                                 "fetch_interval_min",
                                                 "fetch_interval_max",
                                                 "worker_per",
                                                 "callback_timeout",
                                                 "retries",
                                                 "retry_backoff",
                                                 "reactivation",
                                                 "checkpoint_interval",
                                                 "backlog_timeout",
                                                 "queue_size",
                                                 "pipeline_window",
                                                 "worker_memory_limit",
                                                 "plugin_log_lines_per_second",
                                                 "plugin_log_bytes_per_minute",
                                                 "shutdown_grace",
                                                 "server_side_filters",
                                                 "include_projects",
                                                 "exclude_projects",
                                                 "loop_prevention",
                                                 "log_json",
                                                 "log_files"};
  return names;
}

ConfigProblem problem_at(const config::IniFile& ini, ConfigProblem::Severity severity,
                         const std::string& section, const std::string& key, std::string message) {
  const std::string origin = ini.origin_of(section, key);
  if (!origin.empty()) return {severity, origin, 0, std::move(message)};
  return {severity, ini.file_name(), ini.line_of(section, key), std::move(message)};
}

std::string ConfigProblem::describe() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  return out + message;
}

ConfigLoad parse_config(std::string_view text, const std::string& file_name,
                        const config::IniFile::Environment& env) {
  ConfigLoad load;
  auto ini = config::IniFile::parse(text, file_name, env);
  if (!ini) {
    load.problems.push_back(
        {ConfigProblem::Severity::kError, ini.error().file, ini.error().line, ini.error().message});
    return load;
  }
  for (ConfigProblem& p : apply_environment(*ini, env)) load.problems.push_back(std::move(p));
  Config c{file_name, {}, {}, {}, {}, {}, {}, {}, {}, std::move(*ini)};
  Reader r(c.ini, load.problems);
  for (const char* section : {"daemon", "shotgun", "plugins"}) {
    if (!c.ini.has_section(section)) {
      load.problems.push_back({ConfigProblem::Severity::kError, file_name, 0,
                               std::string("the [") + section + "] section is missing"});
    }
  }
  read_daemon(r, c.daemon);
  read_shotgun(r, c.shotgun);
  std::string paths;
  r.string("plugins", "paths", paths, true);
  c.plugin_paths = split_list(paths);
  read_emails(r, c.ini, c.emails);
  read_python(r, c.python);
  read_sandbox(r, c.sandbox);
  read_admin(r, c.admin);
  read_state(r, c.state);
  if (c.sandbox.webhooks && c.shotgun.is_sandbox() && !c.admin.enabled) {
    r.error("sandbox", "webhooks",
            "[sandbox] webhooks = on sends them to the admin API's /webhook: [admin] enabled "
            "is off");
  }
  warn_unknown_keys(r, c.ini);

  const bool has_errors = std::any_of(
      load.problems.begin(), load.problems.end(),
      [](const ConfigProblem& p) { return p.severity == ConfigProblem::Severity::kError; });
  if (!has_errors) load.config = std::move(c);
  return load;
}

ConfigLoad load_config(const std::string& path, const config::IniFile::Environment& env) {
  if (path == kEnvironmentOnly) return parse_config("", path, env);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigLoad load;
    load.problems.push_back({ConfigProblem::Severity::kError, path, 0, "cannot read the file"});
    return load;
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path, env);
}

std::string state_name(const Config& config) {
  if (!config.state.name.empty()) return config.state.name;
  std::string site = "sandbox";
  if (!config.shotgun.is_sandbox()) {
    // scheme://host[:port]/path -> host[:port]
    site = config.shotgun.server;
    if (const auto scheme = site.find("://"); scheme != std::string::npos) {
      site = site.substr(scheme + 3);
    }
    site = site.substr(0, site.find('/'));
    site = config::ascii_lower(site);
  }
  return site + "/" + config.shotgun.name;
}

::sgeventd::Expected<std::string, std::string> find_config(const std::string& explicit_path,
                                                           const config::IniFile::Environment& env,
                                                           const std::string& executable_dir) {
  if (!explicit_path.empty()) {
    if (is_file(explicit_path)) return explicit_path;
    return tl::unexpected("config file " + explicit_path + " does not exist");
  }
  if (auto it = env.find("SGEVENTD_CONFIG"); it != env.end() && !it->second.empty()) {
    if (is_file(it->second)) return it->second;
    return tl::unexpected("SGEVENTD_CONFIG names " + it->second + ", which does not exist");
  }
  std::vector<std::string> searched;
  // Beside the binary (a build tree), the prefix's etc (an install under /usr/local or /opt),
  // then the system's.
  const std::string prefix_etc =
      executable_dir.empty()
          ? std::string()
          : std::filesystem::path(executable_dir + "/../etc/sgeventd").lexically_normal().string();
  for (const std::string& dir :
       {executable_dir, prefix_etc, std::string("/etc/sgeventd"), std::string("/etc")}) {
    if (dir.empty()) continue;
    for (const char* name : {"sgeventd.conf", "shotgunEventDaemon.conf"}) {
      const std::string candidate = dir + "/" + name;
      if (is_file(candidate)) return candidate;
      searched.push_back(candidate);
    }
  }
  // No file, but settings in the environment (a container): they are the whole config.
  if (auto it = env.find("SGEVENTD_SERVER"); it != env.end() && !it->second.empty()) {
    return std::string(kEnvironmentOnly);
  }
  std::string message =
      "no config file: give -c FILE or SGEVENTD_CONFIG (or the settings as SGEVENTD_SERVER and "
      "the other variables of docs/configuration.md); searched";
  for (const auto& s : searched) message += " " + s;
  return tl::unexpected(message);
}

}  // namespace sgeventd::daemon
