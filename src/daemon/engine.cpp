#include "daemon/engine.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "daemon/activity.h"
#include "daemon/admin_server.h"
#include "daemon/config_checks.h"
#include "daemon/lease_keeper.h"
#include "daemon/logging_options.h"
#include "daemon/pid_file.h"
#include "daemon/plugin_discovery.h"
#include "daemon/shared_state.h"
#include "daemon/systemd_notify.h"
#include "dispatch/dispatcher.h"
#include "dispatch/plugin_start.h"
#include "log/logging.h"
#include "sandbox/schema_import.h"
#include "sgeventd/json.h"
#include "sgeventd/sandbox.h"
#include "sgeventd/sg/client.h"
#include "sgeventd/version.h"
#include "source/poller.h"
#include "source/sg_event_log_reader.h"
#include "state/pg_db.h"
#include "state/pg_state_store.h"
#include "state/sqlite_state_store.h"
#include "state/start_state.h"
#include "workers/child_registry.h"
#include "workers/completion_log.h"
#include "workers/process_worker_host.h"

namespace sgeventd::daemon {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string status_file_path(const Config& config) { return config.daemon.pid_file + ".status"; }

namespace {

// One connection to the site per thread that reads (the client is single-threaded).
struct SiteConnection {
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  std::optional<sg::Client> client;
  std::optional<source::SgEventLogReader> reader;
};

sg::Result<void> connect(SiteConnection& c, const Config& config, const std::string& url,
                         const source::ServerFilters& filters) {
  sg::ConnectionSettings s;
  s.base_url = url;
  s.script_name = config.shotgun.name;
  s.script_key = config.shotgun.key;
  s.http_proxy = config.shotgun.proxy_server;
  s.connect_timeout = seconds(15);
  // A page of 500 events takes a site well under a second: a read still unanswered after a
  // minute is abandoned and retried (the poller reports it from 3 poll intervals on).
  s.request_timeout = seconds(60);
  s.cancel = c.cancel;
  s.gateway_attempts = 1;  // the poller retries, with a backoff a stop can interrupt
  auto client = sg::Client::create(std::move(s));
  if (!client) return tl::unexpected(client.error());
  c.client.emplace(std::move(*client));
  c.reader.emplace(*c.client, filters);
  return {};
}

// The events of a replay, read from the site in pages, in id order (no server-side filter:
// the operator chose them). Ids the site does not have are left out.
Expected<std::vector<Value>, std::string> fetch_events(source::SgEventLogReader& reader,
                                                       const ReplaySelection& selection) {
  constexpr int kPage = 500;
  std::vector<Value> out;
  auto take = [&out](sg::Result<List>& page) -> Expected<std::size_t, std::string> {
    if (!page) return tl::unexpected(page.error().message);
    for (Value& e : *page) out.push_back(std::move(e));
    return page->size();
  };
  if (!selection.ids.empty()) {
    for (std::size_t i = 0; i < selection.ids.size(); i += kPage) {
      List ids;
      for (std::size_t j = i; j < std::min(selection.ids.size(), i + kPage); ++j) {
        ids.emplace_back(static_cast<long long>(selection.ids[j]));
      }
      auto page = reader.read_matching(List{List{"id", "in", std::move(ids)}}, kPage);
      if (auto n = take(page); !n) return tl::unexpected(n.error());
    }
  } else {
    std::int64_t after = selection.from - 1;
    while (after < selection.to) {
      auto page = reader.read_between(after, selection.to, kPage);
      auto n = take(page);
      if (!n) return tl::unexpected(n.error());
      if (*n == 0) break;
      after = out.back()["id"].if_int().value_or(selection.to);
      if (*n < static_cast<std::size_t>(kPage)) break;
    }
  }
  std::sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
    return a["id"].if_int().value_or(0) < b["id"].if_int().value_or(0);
  });
  return out;
}

// The status may quote errors, so it is masked (`redactor`) and not world-readable (0640). The
// daemon often runs as root: the temporary file is made new (O_EXCL, O_NOFOLLOW), so a link
// planted at its name is removed, never written through, and renamed over the status file in
// the same folder (rename replaces a link there, it does not follow it).
void write_status_file(const std::string& path, const Value& status,
                       const log::Redactor& redactor) {
  const std::string tmp = path + ".tmp";
  const std::string text = redactor.redact(to_json(status, {.style = JsonStyle::Pretty})) + "\n";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) return;
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) ::unlink(tmp.c_str());
}

// Waits for a signal or the timeout: the main thread's only blocking call.
int wait_signal(milliseconds timeout) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  timespec ts{static_cast<time_t>(timeout.count() / 1000),
              static_cast<long>((timeout.count() % 1000) * 1'000'000)};
  const int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

// 32 hex digits from the system's random source.
std::string random_secret() {
  std::random_device random;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) out += kHex[random() % 16];
  return out;
}

source::PollerOptions poller_options(const Config& config) {
  source::PollerOptions o;
  o.fetch_interval = config.daemon.fetch_interval;
  o.adaptive = config.daemon.adaptive_polling;
  o.min_interval = config.daemon.fetch_interval_min;
  o.max_interval = config.daemon.fetch_interval_max;
  o.max_retry = std::max<milliseconds>(config.daemon.conn_retry_sleep, milliseconds(250));
  o.max_conn_retries = config.daemon.max_conn_retries;
  // "Slow" is a few poll intervals, never under 10 s (a busy site's ordinary latency).
  o.slow_read_warn = std::max<milliseconds>(3 * config.daemon.fetch_interval, seconds(10));
  o.slow_read_error = 2 * o.slow_read_warn;
  return o;
}

dispatch::DispatcherOptions dispatcher_options(const Config& config, const std::string& url) {
  const DaemonSettings& d = config.daemon;
  dispatch::DispatcherOptions o;
  o.queue_size = static_cast<std::size_t>(std::max(1, d.queue_size));
  o.window = static_cast<std::size_t>(std::max(1, d.pipeline_window));
  o.batch_size = d.max_event_batch_size;
  o.backlog_timeout = d.backlog_timeout;
  o.retry.retries = d.retries;
  o.retry.retry_backoff = d.retry_backoff;
  o.reactivation = d.reactivation;
  o.checkpoint_interval = d.checkpoint_interval;
  o.shutdown_grace = d.shutdown_grace;
  o.loop_prevention = d.loop_prevention;
  if (!config.shotgun.name.empty()) o.own_script_names.push_back(config.shotgun.name);
  if (d.callback_timeout.count() > 0) o.supervisor.health.callback_timeout = d.callback_timeout;
  if (d.worker_memory_limit_mb > 0) {
    o.supervisor.health.memory_limit_bytes = static_cast<std::uint64_t>(d.worker_memory_limit_mb)
                                             << 20;
  }
  o.plugin_output.lines_per_second = d.plugin_log_lines_per_second;
  o.plugin_output.bytes_per_minute = static_cast<std::uint64_t>(d.plugin_log_bytes_per_minute);
  o.hello.daemon = std::string("sgeventd ") + kVersion;
  o.hello.site = Dict{{"url", url},
                      {"proxy", config.shotgun.proxy_server},
                      {"use_session_uuid", config.shotgun.use_session_uuid}};
  o.hello.config = config_sections(config.ini);
  return o;
}

class Engine {
 public:
  Engine(const Config& config, const RunOptions& options, const EngineSeams& seams)
      : config_(config),
        options_(options),
        workers_(seams.workers),
        store_(seams.store),
        clock_(seams.clock ? *seams.clock : Clock::real()) {}

  int run();

 private:
  int fail(int code, const std::string& message);
  bool open_state();
  bool open_shared_state();  // [state] url: PostgreSQL, waiting for it to answer
  bool start_site();
  Discovery discover() const;  // the plugins on disk now (fork server problems to log_)
  // `commit`: write what the starts decided (a standby, which may not write, leaves it to the
  // rebase once it leads).
  bool resolve_starts(const Discovery& discovery, std::int64_t newest,
                      std::map<std::string, std::map<std::string, dispatch::PluginStart>>& out,
                      bool commit = true);
  sg::Result<std::int64_t> newest_event_id();
  void main_loop(dispatch::Dispatcher& dispatcher, source::Poller& poller, PidFile& pid);
  // One term as leader (or the only daemon): the start cursors, the dispatcher, the poll, until
  // stopped or, with a shared state, the lease is lost (lost_lease_). The exit code.
  int lead(Discovery& discovery, PidFile& pid);
  // A shared state's standby: tries for the lease until it is had (true) or the daemon is
  // stopped (false), keeping the status file and systemd informed.
  bool stand_by(PidFile& pid, dispatch::Dispatcher& dispatcher);
  // "role", "epoch", "lease_*" and "state_name" when the state is shared.
  void add_lease_status(Dict& status) const;
  // resolve_starts with a shared state that failed: stand by again (false, lost_lease_ set).
  bool lose_lease_at_start(const state::StateError& error);
  // WATCHDOG=1 at half the interval, once READY was sent (outside the main loop's checks).
  void ping_watchdog();
  // systemd (Type=notify): READY=1 after the first poll, STATUS= as it changes, WATCHDOG=1
  // at half the asked interval while the poll and dispatch loops are alive. Every main loop
  // pass (200 ms).
  void tell_systemd(const dispatch::Dispatcher& dispatcher, const source::Poller& poller,
                    const Value& status);
  // RunOptions::one_shot: the request, then a wait for its re-drives. The exit code.
  int run_one_shot(dispatch::Dispatcher& dispatcher, OneShot& shot);
  state::WallTime wall_now() const { return std::chrono::floor<milliseconds>(clock_.wall_now()); }

  const Config& config_;
  const RunOptions& options_;
  std::unique_ptr<log::Logging> logging_;
  std::shared_ptr<spdlog::logger> log_;
  workers::WorkerHost* workers_;  // the caller's; null: run() makes a ProcessWorkerHost
  state::StateStore* store_;      // the caller's, or owned_store_
  std::unique_ptr<state::StateStore> owned_store_;
  std::unique_ptr<LeaseKeeper> keeper_;  // a shared state's lease; null for SQLite
  bool lost_lease_ = false;              // the last lead() ended because the lease was lost
  std::string standby_leader_;           // standing by: who holds the lease, as last read
  bool stopped_before_start_ = false;    // stopped while waiting for the state's database
  Clock& clock_;
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::string url_;
  SiteConnection feed_site_, catch_up_site_;
  SiteConnection replay_site_;  // the admin API's replays, one at a time (replay_mutex_)
  std::mutex replay_mutex_;
  bool reported_ = false;                        // on_started was called
  std::vector<std::string> discovery_warnings_;  // logged once, again only when they change
  StatusBoard board_;                            // the status snapshot the admin API serves
  std::unique_ptr<AdminServer> admin_;
  std::string sandbox_webhook_secret_;  // what the embedded sandbox signs its webhooks with
  SystemdNotifier systemd_;
  bool told_ready_ = false;
  std::chrono::steady_clock::time_point last_watchdog_{};
};

int Engine::fail(int code, const std::string& message) {
  if (log_) log_->critical("{}", message);
  if (options_.on_started && !reported_) {
    reported_ = true;
    options_.on_started(message);
  } else if (!options_.foreground || !log_) {
    std::cerr << "sgeventd: " << message << "\n";
  }
  return code;
}

Discovery Engine::discover() const {
  return discover_plugins(config_, options_.executable_dir, config::IniFile::process_environment(),
                          [log = log_](bool problem, const std::string& line) {
                            log->log(problem ? spdlog::level::warn : spdlog::level::info, "{}",
                                     line);
                          });
}

bool Engine::open_state() {
  if (store_) return true;
  if (config_.state.shared()) return open_shared_state();
  // Its folder is made when missing (owner only: the state quotes errors), as the log's is.
  if (const auto folder = std::filesystem::path(config_.daemon.event_id_file).parent_path();
      !folder.empty()) {
    std::error_code ec;
    if (std::filesystem::create_directories(folder, ec)) {
      std::filesystem::permissions(folder, std::filesystem::perms::owner_all, ec);
    }
  }
  auto store = state::SqliteStateStore::open(config_.daemon.event_id_file);
  if (!store) {
    fail(kRunFailed,
         "cannot open the state " + config_.daemon.event_id_file + ": " + store.error().describe());
    return false;
  }
  if (const auto& imported = (*store)->legacy_import()) {
    log_->info(
        "Imported the shotgunEvents state: {} plugin(s), {} gap(s); the old file is kept "
        "as {}.legacy",
        imported->plugins, imported->gaps, config_.daemon.event_id_file);
  }
  if (const auto& back = (*store)->rollback()) {
    log_->warn(
        "The state {} is older than it was: it holds checkpoint {}, but checkpoint {} had been "
        "made durable. Its WAL was damaged or lost, or the file was replaced by an older copy. "
        "Plugins resume from the cursors it holds and get the events since then again.",
        config_.daemon.event_id_file, back->found, back->recorded);
  }
  owned_store_ = std::move(*store);
  store_ = owned_store_.get();
  return true;
}

bool Engine::open_shared_state() {
  auto options = shared_state_options(config_);
  if (!options) {
    fail(kRunConfig, options.error());
    return false;
  }
  const std::string where = state::pg::redact_url(options->url);
  // The database may be down while the daemon starts (a host booting before it): keep trying,
  // with a growing pause, until it answers or the daemon is stopped.
  for (int failures = 1;; ++failures) {
    auto store = state::PgStateStore::open(*options);
    if (store) {
      logging_->add_secret(options->password);
      logging_->add_secret(state::pg::url_password(options->url));
      log_->info("State '{}' in PostgreSQL at {} (lease {} s)", options->name, where,
                 std::chrono::duration<double>(options->lease).count());
      owned_store_ = std::move(*store);
      store_ = owned_store_.get();
      return true;
    }
    if (store.error().kind != state::StateErrorKind::kUnreachable) {
      fail(kRunFailed,
           "cannot use the state in PostgreSQL at " + where + ": " + store.error().describe());
      return false;
    }
    const auto pause =
        std::min<milliseconds>(seconds(30), milliseconds(500) * (1 << std::min(failures, 6)));
    log_->error("The state's database is unreachable (attempt {}; next in {} ms): {}", failures,
                pause.count(), store.error().message);
    systemd_.status("state database unreachable (" + std::to_string(failures) + " attempt(s))");
    const int sig = wait_signal(pause);
    if (sig == SIGTERM || sig == SIGINT) {
      log_->info("Stopping ({}) before the state's database answered",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
      stopped_before_start_ = true;
      return false;
    }
  }
}

bool Engine::stand_by(PidFile& pid, dispatch::Dispatcher& dispatcher) {
  const std::string name = state_name(config_);
  log_->info(
      "Standing by for state '{}': another daemon leads it; this one takes over when its lease "
      "expires (within {} s of it stopping)",
      name, std::chrono::duration<double>(config_.state.lease).count());
  const std::string status_path = status_file_path(config_);
  auto last_status = std::chrono::steady_clock::now() - seconds(10);
  auto last_scan = std::chrono::steady_clock::now();
  for (;;) {
    if (keeper_->try_take()) {
      keeper_->start_renewing();
      standby_leader_.clear();
      if (admin_) admin_->set_not_dispatching_reason("");
      log_->info("Leading state '{}' (lease epoch {})", name, keeper_->snapshot().epoch);
      return true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_status >= seconds(1)) {
      last_status = now;
      if (auto row = store_->leader_lease()->read(); row && *row) {
        standby_leader_ = (*row)->holder;
      }
      if (admin_) {
        admin_->set_not_dispatching_reason(
            "this daemon stands by for state '" + name + "': ask the leader" +
            (standby_leader_.empty() ? std::string() : " (" + standby_leader_ + ")"));
      }
      // The warm workers' plugins, as the dispatcher sees them (loaded, waiting).
      Value snapshot = dispatcher.status();
      Dict status = snapshot.is_dict() ? snapshot.as_dict() : Dict{};
      if (!status.contains("plugins")) status["plugins"] = List{};
      status["pid"] = static_cast<long long>(getpid());
      status["site"] = url_;
      status["updated"] = static_cast<long long>(
          std::chrono::duration_cast<seconds>(clock_.wall_now().time_since_epoch()).count());
      if (admin_) status["admin"] = admin_->url();
      add_lease_status(status);
      write_status_file(status_path, Value(status), logging_->redactor());
      board_.publish(Value(std::move(status)));
      if (systemd_.enabled()) {
        // Up and doing its job: standing by is what a standby is for.
        if (!told_ready_) told_ready_ = systemd_.ready();
        systemd_.status(
            "standby: state '" + name + "' is led by " +
            (standby_leader_.empty() ? std::string("another daemon") : standby_leader_));
        ping_watchdog();
      }
    }
    const int sig = wait_signal(keeper_->poll_every());
    if (sig == SIGTERM || sig == SIGINT) {
      log_->info("Stopping ({})", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      systemd_.stopping();
      return false;
    }
    if (sig == SIGUSR1) logging_->reopen_files();  // logrotate moved them
    // New and removed plugin files, as the leader looks for them: the warm workers follow.
    if (const auto at = std::chrono::steady_clock::now();
        sig == SIGHUP || at - last_scan >= seconds(2)) {
      last_scan = at;
      dispatcher.update_plugins(discover().workers);
      workers::child_registry::reap_orphans();
    }
    if (pid.removed()) {
      log_->info("Stopping: the pid file {} was removed", pid.path());
      return false;
    }
  }
}

void Engine::add_lease_status(Dict& status) const {
  if (!keeper_) return;
  const auto s = keeper_->snapshot();
  status["role"] = s.role;
  status["state_name"] = state_name(config_);
  status["daemon_id"] = s.holder;  // this daemon, as the lease row names its holder
  if (s.role == "leader") {
    status["lease_epoch"] = static_cast<long long>(s.epoch);
    status["lease_age_ms"] = static_cast<long long>(s.since_renewal.count());
    status["lease_remaining_ms"] = static_cast<long long>(s.remaining.count());
  } else if (!standby_leader_.empty()) {
    status["leader"] = standby_leader_;
  }
}

bool Engine::start_site() {
  url_ = config_.shotgun.server;
  if (!config_.shotgun.is_sandbox()) return true;
  sandbox::SandboxOptions o;
  o.port = config_.sandbox.port;
  o.data_file = config_.sandbox.data;
  o.seed_file = config_.sandbox.seed;
  o.schema_file = config_.sandbox.schema;
  o.schema_entity_file = config_.sandbox.schema_entity;
  o.test_controls = config_.sandbox.test_controls;
  o.scripts = {{config_.shotgun.name, config_.shotgun.key}};
  if (config_.sandbox.webhooks && admin_) {
    o.webhook_url = admin_->url() + "/webhook";
    o.webhook_secret = sandbox_webhook_secret_;
    o.webhook_batched = config_.sandbox.webhooks_batched;
  }
  sandbox_ = std::make_unique<sandbox::Sandbox>();
  if (auto r = sandbox_->start(o); !r) {
    fail(kRunFailed, "cannot start the embedded sandbox site: " + r.error());
    return false;
  }
  url_ = sandbox_->url();
  log_->info("Embedded sandbox site at {} (script '{}'){}", url_, config_.shotgun.name,
             o.webhook_url.empty() ? std::string()
                                   : "; it sends a signed webhook to " + o.webhook_url +
                                         " for every event (docs/webhooks.md)");
  if (!o.schema_file.empty()) {
    log_->info("The sandbox has the schema of {}{}", o.schema_file,
               sandbox_->schema_warnings().empty() ? std::string(", as given") : ", with notes:");
    for (const auto& line : sandbox::first_warnings(sandbox_->schema_warnings())) {
      log_->info("  {}", line);
    }
  }
  return true;
}

sg::Result<std::int64_t> Engine::newest_event_id() {
  // The site may be down at startup: keep trying (as the poll would) until it answers or we
  // are asked to stop, with the poll's backoff.
  std::mt19937 random{std::random_device{}()};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  int failures = 0;
  for (;;) {
    auto id = feed_site_.reader->newest_id();
    if (id) return id;
    ++failures;
    systemd_.status("site unreachable: cannot read its newest event (" + std::to_string(failures) +
                    " attempt(s))");
    if (failures % std::max(1, config_.daemon.max_conn_retries) == 0) {
      log_->error("Cannot reach the site to find its newest event: {}", id.error().message);
    } else {
      log_->warn("Cannot reach the site to find its newest event (attempt {}): {}", failures,
                 id.error().message);
    }
    const int sig =
        wait_signal(source::retry_pause(poller_options(config_), failures, uniform(random)));
    if (sig == SIGTERM || sig == SIGINT) return tl::unexpected(id.error());
    // A new leader waiting for the site: alive to systemd (READY came while standing by), and
    // standing by again if its lease went meanwhile.
    ping_watchdog();
    if (keeper_ && keeper_->lost()) {
      lost_lease_ = true;
      return tl::unexpected(id.error());
    }
  }
}

void Engine::ping_watchdog() {
  if (!told_ready_) return;
  const auto interval = systemd_.watchdog_interval();
  if (!interval) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_watchdog_ < *interval / 2) return;
  systemd_.watchdog();
  last_watchdog_ = now;
}

bool Engine::resolve_starts(
    const Discovery& discovery, std::int64_t newest,
    std::map<std::string, std::map<std::string, dispatch::PluginStart>>& out, bool commit) {
  state::StateBatch batch;
  for (const auto& w : discovery.workers) {
    for (const auto& ref : w.plugins) {
      const state::PluginKey key{ref.path, ref.name};
      auto decision =
          dispatch::decide_start(*store_, key, newest, wall_now(), config_.daemon.backlog_timeout);
      if (!decision) {
        if (keeper_) return lose_lease_at_start(decision.error());
        fail(kRunFailed,
             "reading the state of plugin " + ref.path + " failed: " + decision.error().describe());
        return false;
      }
      if (!decision->note.empty()) log_->info("Plugin {} {}", ref.path, decision->note);
      batch.append(decision->writes);
      out[w.id][ref.name] = std::move(decision->start);
    }
  }
  if (!commit) return true;
  batch.drop_legacy_defaults();
  if (auto r = store_->commit(batch); !r) {
    if (keeper_) return lose_lease_at_start(r.error());
    fail(kRunFailed, "writing the state failed: " + r.error().describe());
    return false;
  }
  return true;
}

bool Engine::lose_lease_at_start(const state::StateError& error) {
  // A new leader that cannot read or write the shared state (another took the lease, the
  // database went away) stands by again rather than exit: the lease decides who leads.
  log_->warn("Cannot start as the leader: {}", error.describe());
  keeper_->stop_renewing();
  keeper_->release();
  lost_lease_ = true;
  return false;
}

void Engine::main_loop(dispatch::Dispatcher& dispatcher, source::Poller& poller, PidFile& pid) {
  const std::string status_path = status_file_path(config_);
  auto last_status = std::chrono::steady_clock::now() - seconds(10);
  auto last_trim = std::chrono::steady_clock::now();
  auto last_scan = std::chrono::steady_clock::now();
  std::vector<std::string> last_warnings = discovery_warnings_;
  // New plugin files are picked up as shotgunEvents picks them up (it looks at its plugin
  // folders every pass), removed ones stopped; SIGHUP looks at once.
  auto scan = [&] {
    Discovery found = discover();
    if (found.warnings != last_warnings) {
      for (const auto& w : found.warnings) log_->warn("{}", w);
      last_warnings = found.warnings;
    }
    dispatcher.update_plugins(std::move(found.workers));
  };
  for (;;) {
    const int sig = wait_signal(milliseconds(200));
    if (sig == SIGTERM || sig == SIGINT) {
      log_->info("Stopping ({})", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      return;
    }
    if (sig == SIGUSR1) {  // logrotate's convention: it moved the files, write new ones
      const std::size_t failed = logging_->reopen_files();
      log_->info("Log files reopened (SIGUSR1){}",
                 failed ? ", " + std::to_string(failed) + " could not be opened" : std::string());
    }
    if (sig == SIGHUP) {
      scan();
      dispatcher.request_reload();
      poller.wake();
    }
    if (pid.removed()) {
      log_->info("Stopping: the pid file {} was removed", pid.path());
      return;
    }
    if (keeper_ && keeper_->lost()) {
      lost_lease_ = true;
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_scan >= seconds(2)) {
      last_scan = now;
      scan();
      // Helpers of forked workers, orphaned and reparented to us (the fork server made the
      // daemon a subreaper): gone ones are reaped here, never left as zombies.
      workers::child_registry::reap_orphans();
    }
    if (now - last_trim >= seconds(10)) {
      // A burst of events leaves freed pages in malloc's arenas; give them back so a daemon
      // that idles most of the day stays small.
      last_trim = now;
      malloc_trim(0);
    }
    // The admin API's snapshot every pass (200 ms: `sgeventd plugins` right after a
    // `disable` shows it), the status file every second.
    {
      const bool write_file = now - last_status >= seconds(1);
      if (write_file) last_status = now;
      const auto slow_read = poller.check_slow_read();
      Value status = dispatcher.status();
      if (status.is_dict()) {
        if (slow_read) {
          status.as_dict()["site_read_s"] = static_cast<long long>(slow_read->count() / 1000);
        }
        status.as_dict()["pid"] = static_cast<long long>(getpid());
        status.as_dict()["site"] = url_;
        status.as_dict()["poll_failures"] = static_cast<long long>(poller.failures());
        status.as_dict()["requests"] = static_cast<long long>(poller.requests());
        status.as_dict()["polls"] = static_cast<long long>(poller.polls());
        status.as_dict()["events_read"] = static_cast<long long>(poller.events_read());
        status.as_dict()["adaptive_polling"] = poller.adaptive();
        status.as_dict()["poll_pause_ms"] = static_cast<long long>(poller.planned_pause().count());
        status.as_dict()["webhook_reads"] = static_cast<long long>(poller.webhook_reads());
        status.as_dict()["webhook_ids_unseen"] =
            static_cast<long long>(poller.webhook_ids_unseen());
        std::uint64_t bytes = 0;
        for (const SiteConnection* site : {&feed_site_, &catch_up_site_}) {
          if (site->client) bytes += site->client->bytes_received();
        }
        status.as_dict()["bytes_read"] = static_cast<long long>(bytes);
        status.as_dict()["gap_ids"] = static_cast<long long>(poller.gap_ids());
        if (const auto oldest = poller.oldest_gap_seen()) {
          status.as_dict()["oldest_gap_s"] =
              std::max(0.0, std::chrono::duration<double>(clock_.wall_now() - *oldest).count());
        }
        Dict errors;
        for (const auto& [kind, n] : poller.errors_by_kind()) {
          errors[kind] = static_cast<long long>(n);
        }
        status.as_dict()["poll_errors"] = std::move(errors);
        status.as_dict()["updated"] = static_cast<long long>(
            std::chrono::duration_cast<seconds>(clock_.wall_now().time_since_epoch()).count());
        if (admin_) status.as_dict()["admin"] = admin_->url();
        add_lease_status(status.as_dict());
        tell_systemd(dispatcher, poller, status);
        if (write_file) write_status_file(status_path, status, logging_->redactor());
        board_.publish(std::move(status));
      }
    }
  }
}

void Engine::tell_systemd(const dispatch::Dispatcher& dispatcher, const source::Poller& poller,
                          const Value& status) {
  if (!systemd_.enabled()) return;
  if (!told_ready_ && poller.polls() > 0) {
    told_ready_ = systemd_.ready();
    if (told_ready_) log_->info("Told systemd the daemon is ready");
  }
  std::size_t active = 0, behind = 0;
  if (const List* plugins = status["plugins"].if_list()) {
    for (const Value& p : *plugins) {
      if (p["state"] != Value("active")) continue;
      ++active;
      if (p["mode"] == Value("catch-up") || p["lag"].if_int().value_or(0) > 0) ++behind;
    }
  }
  const int failures = poller.failures();
  systemd_.status(failures > 0
                      ? "site unreachable: " + std::to_string(failures) + " failed read(s) in a row"
                  : behind > 0 ? "catching up: " + std::to_string(behind) + " of " +
                                     std::to_string(active) + " plugin(s) behind"
                               : "polling: " + std::to_string(active) + " plugin(s) active");

  const auto interval = systemd_.watchdog_interval();
  if (!interval) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_watchdog_ < *interval / 2) return;
  // Alive: the dispatcher went round within the interval, and no read has run longer (reads
  // time out after 60 s, so a WatchdogSec above that never kills a slow but working site).
  const bool dispatching = now - dispatcher.last_step() < *interval;
  const auto reading = poller.read_in_progress();
  const bool polling = !reading || *reading < *interval;
  if (dispatching && polling) {
    systemd_.watchdog();
    last_watchdog_ = now;
  }
}

int Engine::run_one_shot(dispatch::Dispatcher& dispatcher, OneShot& shot) {
  dispatch::ControlRequest request = shot.request;
  if (shot.replay) {
    auto events = fetch_events(*replay_site_.reader, *shot.replay);
    if (!events) {
      shot.answer = {dispatch::ControlAnswer::Code::kUnavailable,
                     "cannot read the events from the site: " + events.error(),
                     {}};
      return kRunFailed;
    }
    request.events = std::move(*events);
    if (request.events.empty()) {
      shot.answer = {
          dispatch::ControlAnswer::Code::kNotFound, "the site has none of these events", {}};
      return kRunFailed;
    }
  }
  shot.answer = dispatcher.control(std::move(request)).get();
  if (shot.answer.code != dispatch::ControlAnswer::Code::kAccepted) return kRunFailed;
  std::int64_t queued = shot.request.kind == dispatch::ControlRequest::Kind::kRetry ? 1 : 0;
  if (const Dict* per_plugin = shot.answer.body["queued"].if_dict()) {
    for (const auto& [name, n] : *per_plugin) queued += n.if_int().value_or(0);
  }
  if (queued == 0) {
    shot.finished = true;
    return kRunOk;
  }
  // Done once a status published after the request shows runs answered and none left (every
  // re-drive was queued before the answer came, so no later status shows some gone and others
  // not yet queued).
  const auto deadline = std::chrono::steady_clock::now() + shot.timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const int sig = wait_signal(milliseconds(100));
    if (sig == SIGTERM || sig == SIGINT) break;
    const Value status = dispatcher.status();
    std::int64_t ok = 0, failed = 0;
    if (const List* plugins = status["plugins"].if_list()) {
      for (const Value& p : *plugins) {
        ok += p["redrives_ok"].if_int().value_or(0);
        failed += p["redrives_failed"].if_int().value_or(0);
      }
    }
    shot.succeeded = ok;
    shot.failed = failed;
    if (ok + failed > 0 && status["redrives"].if_int().value_or(1) == 0) {
      shot.finished = true;
      break;
    }
  }
  if (!shot.finished) log_->warn("Stopping before every re-drive was answered");
  return shot.finished && shot.failed == 0 ? kRunOk : kRunFailed;
}

int Engine::lead(Discovery& discovery, PidFile& pid) {
  // Fresh for each term as leader: the last one's teardown cancelled them.
  for (SiteConnection* site : {&feed_site_, &catch_up_site_, &replay_site_}) {
    site->cancel->store(false);
  }
  std::unique_ptr<Activity> activity;
  if (sandbox_ && config_.sandbox.activity_rate > 0 && !options_.one_shot) {
    activity = std::make_unique<Activity>(url_, config_.shotgun.name, config_.shotgun.key,
                                          config_.sandbox.activity_rate, log_);
  }

  // A shared state's daemon stands by with its plugins loaded (warm workers) and, once it
  // holds the lease, starts them again from the cursors the leader left.
  const bool warm = keeper_ && !options_.one_shot;
  auto newest = newest_event_id();
  if (!newest) return kRunOk;  // stopped (or the lease lost) while the site was unreachable
  std::map<std::string, std::map<std::string, dispatch::PluginStart>> starts;
  if (!resolve_starts(discovery, *newest, starts, !warm)) return kRunFailed;

  // Where the shared feed starts, and the gaps it looks for: from the plugins' starts.
  std::int64_t feed_start = 0;
  source::GapSet source_gaps;
  auto plan_feed = [&](std::int64_t head) {
    feed_start = head;
    source_gaps = source::GapSet();
    for (const auto& [worker, plugins] : starts) {
      for (const auto& [name, s] : plugins) {
        // A disabled plugin reads on its own once enabled: its old cursor must not make every
        // start read the site again from there for the others.
        if (s.disabled) continue;
        feed_start = std::min(feed_start, s.cursor);
        for (const auto& g : s.gaps) {
          source_gaps.add(
              g.first_id, g.last_id,
              std::chrono::time_point_cast<std::chrono::system_clock::duration>(g.first_seen));
        }
      }
    }
  };
  plan_feed(*newest);

  auto dispatch_options = dispatcher_options(config_, url_);
  if (keeper_) {
    // Checked before every send: a leader paused past its lease sends nothing on waking.
    dispatch_options.may_dispatch = [keeper = keeper_.get()] { return keeper->may_dispatch(); };
  }
  // Beside the state: the workers' completion records (what they finished, should the
  // daemon be killed before it heard of it).
  const std::string completions = config_.daemon.event_id_file + ".completions";
  if (auto made = workers::ensure_completions_dir(completions); made) {
    dispatch_options.completions_dir = completions;
  } else {
    log_->warn(
        "No completion records ({}): after a kill, plugins may get the events that were "
        "in flight again",
        made.error());
  }
  std::unique_ptr<workers::ProcessWorkerHost> process_host;
  if (!workers_) process_host = std::make_unique<workers::ProcessWorkerHost>();
  dispatch::Dispatcher dispatcher(std::move(dispatch_options), *store_, *logging_, feed_start,
                                  workers_ ? *workers_ : *process_host, clock_);
  for (const auto& w : discovery.workers) dispatcher.add_worker(w, starts[w.id]);
  source::CatchUpReader catch_up(
      *catch_up_site_.reader,
      [&dispatcher](source::CatchUpResult r) { dispatcher.deliver_catch_up(std::move(r)); },
      poller_options(config_), log_, catch_up_site_.cancel);
  if (!warm) dispatcher.set_catch_up_reader(&catch_up);
  std::thread dispatch_thread([&dispatcher] { dispatcher.run(); });
  if (warm) {
    auto stop_standby = [&] {
      catch_up.stop();
      dispatcher.request_stop();
      dispatch_thread.join();
      return kRunOk;
    };
    if (!stand_by(pid, dispatcher)) return stop_standby();  // stopped while standing by
    auto head = newest_event_id();
    if (!head) return stop_standby();  // stopped, or the lease lost, before the site answered
    auto rebased = dispatcher.rebase(*head, &catch_up).get();
    if (!rebased.error.empty()) {
      lose_lease_at_start(state::StateError{state::StateErrorKind::kUnreachable, rebased.error});
      return stop_standby();
    }
    starts = std::move(rebased.starts);
    plan_feed(*head);
  }
  if (admin_) {
    auto controller = std::make_shared<AdminController>();
    controller->submit = [&dispatcher](dispatch::ControlRequest r) {
      return dispatcher.control(std::move(r));
    };
    controller->fetch = [this](const ReplaySelection& selection) {
      std::lock_guard lock(replay_mutex_);
      return fetch_events(*replay_site_.reader, selection);
    };
    admin_->set_controller(std::move(controller));
  }

  source::SourceOptions so;
  so.batch_size = config_.daemon.max_event_batch_size;
  so.backlog_timeout = config_.daemon.backlog_timeout;
  source::EventSource source(*feed_site_.reader, clock_, so, feed_start, std::move(source_gaps));
  source::Poller poller(source, dispatcher, poller_options(config_), log_, feed_site_.cancel);
  if (admin_) admin_->set_webhook_receiver([&poller](std::int64_t id) { poller.webhook(id); });
  poller.set_before_each([this, &dispatcher, &source] {
    for (const source::GapRange& g : dispatcher.take_ids_to_look_for()) source.look_again(g);
    if (config_.daemon.server_side_filters) {
      auto f = feed_site_.reader->filters();
      f.event_types = dispatcher.feed_event_types().value_or(std::vector<std::string>{});
      feed_site_.reader->set_filters(std::move(f));
    }
  });

  // Poll once every worker has loaded its plugins, so nothing is read past a plugin still
  // importing (it would have to read it again), but not for long: kStragglerWait after the
  // first worker is ready, polling starts, and a plugin still loading catches up on its own
  // once it is (its events queue, or are read again). One plugin that never answers its load
  // must not hold every other plugin back.
  constexpr auto kStragglerWait = seconds(2);
  const auto load_deadline = std::chrono::steady_clock::now() + seconds(60);
  std::optional<std::chrono::steady_clock::time_point> first_ready;
  bool stopped_early = false;
  while (!dispatcher.wait_initial_loads(milliseconds(100))) {
    const int sig = wait_signal(milliseconds(1));
    if (sig == SIGTERM || sig == SIGINT || pid.removed()) {
      stopped_early = true;
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!first_ready && dispatcher.some_worker_ready()) first_ready = now;
    // A one-shot run waits for its plugins: it is there for them, and reads no feed.
    if (first_ready && now - *first_ready >= kStragglerWait && !options_.one_shot) {
      log_->warn("Some workers are still loading; polling starts, they catch up once loaded");
      break;
    }
    if (now > load_deadline) {
      log_->warn("No worker has loaded after 60 s; polling starts anyway");
      break;
    }
  }
  int code = kRunOk;
  if (options_.one_shot && !stopped_early) {
    code = run_one_shot(dispatcher, *options_.one_shot);
  } else if (!stopped_early) {
    poller.start();
    log_->info("Polling {} from event {}", url_, feed_start);
    main_loop(dispatcher, poller, pid);
    if (!lost_lease_) systemd_.stopping();
  }

  replay_site_.cancel->store(true);                   // a replay still reading gives up
  if (admin_) admin_->set_webhook_receiver(nullptr);  // before the poller goes
  poller.stop();
  catch_up.stop();
  activity.reset();
  dispatcher.request_stop();
  dispatch_thread.join();
  // Before the dispatcher goes: no control request may reach it after this.
  if (admin_) admin_->set_controller(nullptr);
  return code;
}

int Engine::run() {
  auto pid = PidFile::acquire(config_.daemon.pid_file);
  if (!pid) return fail(kRunFailed, pid.error());

  auto logging = log::Logging::open(logging_options(config_, options_.foreground));
  if (!logging) return fail(kRunFailed, logging.error());
  logging_ = std::move(*logging);
  log_ = logging_->engine();
  log_->info("sgeventd {} starting (pid {}, config {})", kVersion, getpid(), config_.file);

  if (!options_.one_shot) {
    // Read before any thread starts, and taken out of the environment the workers inherit
    // (a plugin must not speak for the daemon).
    systemd_ = SystemdNotifier::from_environment(config::IniFile::process_environment());
    for (const char* name : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) unsetenv(name);
  }
  if (config_.admin.enabled && !options_.one_shot) {
    AdminSettings settings = config_.admin;
    if (config_.shotgun.is_sandbox() && config_.sandbox.webhooks) {
      // The demo's webhooks go from the embedded site to this daemon: any secret will do.
      if (settings.webhook_secret.empty()) settings.webhook_secret = random_secret();
      sandbox_webhook_secret_ = settings.webhook_secret;
    }
    auto admin = AdminServer::start(settings, board_, logging_->redactor());
    if (!admin) return fail(kRunFailed, admin.error());
    admin_ = std::move(*admin);
    log_->info("Admin API on {} (docs/admin-api.md)", admin_->url());
  }
  if (!open_state()) return stopped_before_start_ ? kRunOk : kRunFailed;
  if (!start_site()) return kRunFailed;
  source::ServerFilters filters;
  filters.include_projects = config_.daemon.include_projects;
  filters.exclude_projects = config_.daemon.exclude_projects;
  if (auto r = connect(feed_site_, config_, url_, filters); !r) {
    return fail(kRunConfig, "cannot use the site settings: " + r.error().message);
  }
  if (auto r = connect(catch_up_site_, config_, url_, filters); !r) {
    return fail(kRunConfig, "cannot use the site settings: " + r.error().message);
  }
  if (auto r = connect(replay_site_, config_, url_, {}); !r) {
    return fail(kRunConfig, "cannot use the site settings: " + r.error().message);
  }

  // As the original: a plugin path that is not there is a config error, not zero plugins.
  if (const auto missing = missing_plugin_paths(config_); !missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : "; ") + m;
    return fail(kRunConfig, "[plugins] paths: " + list);
  }
  Discovery discovery = discover();
  if (options_.one_shot && !options_.one_shot->only_plugin.empty()) {
    // Only the worker of the plugin named: the others are not needed to re-drive its events.
    const std::string& wanted = options_.one_shot->only_plugin;
    std::vector<std::string> known;
    std::erase_if(discovery.workers, [&](const dispatch::WorkerDefinition& w) {
      bool has = false;
      for (const auto& p : w.plugins) {
        known.push_back(p.name);
        has = has || p.name == wanted || p.path == wanted;
      }
      return !has;
    });
    if (discovery.workers.empty()) {
      std::string list;
      for (const auto& k : known) list += " " + k;
      return fail(kRunFailed, "no plugin named \"" + wanted + "\" in the plugin paths; known:" +
                                  (list.empty() ? " none" : list));
    }
  }
  for (const auto& w : discovery.warnings) log_->warn("{}", w);
  discovery_warnings_ = discovery.warnings;
  std::size_t plugin_count = 0;
  for (const auto& w : discovery.workers) plugin_count += w.plugins.size();
  log_->info("{} plugin(s) in {} worker(s)", plugin_count, discovery.workers.size());
  if (plugin_count == 0) log_->warn("No plugins found in the plugin paths");

  if (options_.on_started) {  // the rest is logged, not reported
    reported_ = true;
    options_.on_started("");
  }

  // A shared state: only the holder of its lease delivers; the others stand by, and take over
  // when it stops or dies (docs/high-availability.md).
  if (auto* lease = store_->leader_lease()) {
    keeper_ = std::make_unique<LeaseKeeper>(*lease, config_.state.lease, Clock::real(), log_);
  }
  int code = kRunOk;
  for (;;) {
    // A one-shot run takes the lease or refuses; a daemon stands by inside lead(), its
    // workers started.
    if (keeper_ && options_.one_shot) {
      if (!keeper_->try_take()) {
        code = fail(kRunFailed,
                    "another daemon leads state '" + state_name(config_) +
                        "': ask it through its admin API (sgeventd replay and dead-letters "
                        "retry do, when it runs)");
        break;
      }
      keeper_->start_renewing();
    }
    lost_lease_ = false;
    code = lead(discovery, *pid);
    if (!lost_lease_) break;
    log_->warn("This daemon is no longer the leader ({}): it stands by again",
               keeper_->lost_reason());
    discovery = discover();
  }
  if (keeper_) {
    keeper_->stop_renewing();
    keeper_->release();
  }
  log_->info("Stopped; state saved");
  std::error_code ec;
  std::filesystem::remove(status_file_path(config_), ec);
  logging_->shutdown(seconds(5));
  return code;
}

}  // namespace

int run_daemon(const Config& config, const RunOptions& options) {
  // A daemon idles most of the day between bursts, so freed memory should go back to the
  // system rather than wait in malloc's arenas. A fixed mmap threshold keeps blocks over
  // 256 KB (poll pages, their parse buffers) out of the arenas: freeing them unmaps them at
  // once (glibc would otherwise raise the threshold after the first such free and keep later
  // ones in an arena, trimmed only past twice that). After a 20,000-event burst with 10
  // plugins this and the parser limit in value/json.cpp took the daemon from 21.4 to 19.1 MB.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  return run_daemon(config, options, EngineSeams{});
}

int run_daemon(const Config& config, const RunOptions& options, const EngineSeams& seams) {
  Engine engine(config, options, seams);
  return engine.run();
}

}  // namespace sgeventd::daemon
