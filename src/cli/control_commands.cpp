// The operator's commands (docs/cli.md): plugins, reload [PLUGIN], enable, disable,
// dead-letters list|show|retry|drop, replay. Against a running daemon they go through its admin
// API (the URL from its status file, the token from the config), never behind its back; with
// the daemon stopped, `dead-letters list|show|drop` open the state directly (taking its lock,
// so a daemon starting meanwhile waits for nothing: one of the two is refused).
//
// Exit codes: 0 done, 1 refused or failed (an unknown plugin lists the known ones), 2 bad
// arguments or config, 3 the daemon is not running (for what needs it).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "cli/commands.h"
#include "cli/daemon_config.h"
#include "daemon/engine.h"
#include "daemon/pid_file.h"
#include "daemon/shared_state.h"
#include "dispatch/control.h"
#include "sgeventd/json.h"
#include "state/pg_db.h"
#include "state/pg_state_store.h"
#include "state/sqlite_state_store.h"

namespace sgeventd::cli {
namespace {

// A value as people read it: strings bare, null as "-", anything else as JSON.
std::string text_of(const Value& v) {
  if (const std::string* s = v.if_string()) return *s;
  if (v.is_null()) return "-";
  return to_json(v, {.style = JsonStyle::Compact});
}

// Columns padded to their widest cell; the last one is not padded.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows) {
    for (std::size_t c = 0; c < r.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], r[c].size());
    }
  }
  auto line = [&width](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      out += cells[c];
      if (c + 1 < cells.size()) out += std::string(width[c] - cells[c].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

struct Answer {
  int status = 0;  // HTTP status; 0: no answer
  Value body;
  std::string error;  // why there is no answer
};

// The running daemon's admin API.
class AdminClient {
 public:
  // nullopt: the daemon is not running (or has no admin API); the reason was printed.
  static std::optional<AdminClient> connect(const daemon::Config& config, const char* verb,
                                            bool quiet_if_stopped = false) {
    auto pid = daemon::running_daemon(config.daemon.pid_file);
    if (!pid) {
      if (!quiet_if_stopped) std::cerr << "sgeventd " << verb << ": the daemon is not running\n";
      return std::nullopt;
    }
    if (!config.admin.enabled) {
      std::cerr << "sgeventd " << verb
                << ": the daemon's admin API is off ([admin] enabled = false in the config)\n";
      return AdminClient(*pid);
    }
    // The status file names the URL (the port may be any free one).
    for (int i = 0; i < 100; ++i) {
      std::ifstream in(daemon::status_file_path(config));
      std::stringstream text;
      text << in.rdbuf();
      auto status = parse_json(text.str());
      if (status && status->is_dict()) {
        if (const std::string* url = (*status)["admin"].if_string()) {
          return AdminClient(*pid, *url, config.admin.token);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // still starting up
    }
    std::cerr << "sgeventd " << verb << ": the daemon (pid " << *pid
              << ") has not published its admin API URL (is it still starting?)\n";
    return AdminClient(*pid);
  }

  bool usable() const { return !url_.empty(); }

  Answer call(const std::string& method, const std::string& path, const Value& body = {}) const {
    httplib::Client http(url_);
    http.set_connection_timeout(5);
    http.set_read_timeout(120);  // a replay reads its events from the site first
    httplib::Headers headers;
    if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
    const std::string payload = body.is_null() ? "" : to_json(body, {.style = JsonStyle::Compact});
    httplib::Result r = method == "GET" ? http.Get(path, headers)
                        : method == "DELETE"
                            ? http.Delete(path, headers)
                            : http.Post(path, headers, payload, "application/json");
    Answer a;
    if (!r) {
      a.error = "no answer from " + url_ + ": " + httplib::to_string(r.error());
      return a;
    }
    a.status = r->status;
    auto parsed = parse_json(r->body);
    if (parsed) a.body = std::move(*parsed);
    return a;
  }

 private:
  explicit AdminClient(int pid) : pid_(pid) {}
  AdminClient(int pid, std::string url, std::string token)
      : pid_(pid), url_(std::move(url)), token_(std::move(token)) {}
  int pid_ = 0;
  std::string url_, token_;
};

// An answer's "known_plugins" (an unknown plugin was named), on stderr.
void print_known_plugins(const Value& body) {
  const List* known = body["known_plugins"].if_list();
  if (!known) return;
  std::cerr << "known plugins:";
  for (const Value& k : *known) std::cerr << " " << text_of(k);
  std::cerr << "\n";
}

// Prints the answer's error (with the known plugins for an unknown one); the exit code.
int report_error(const Answer& a, const char* verb) {
  if (a.status == 0) {
    std::cerr << "sgeventd " << verb << ": " << a.error << "\n";
    return kExitFailure;
  }
  std::cerr << "sgeventd " << verb << ": " << text_of(a.body["error"]) << " (HTTP " << a.status
            << ")\n";
  print_known_plugins(a.body);
  return a.status == 400 ? kExitUsage : kExitFailure;
}

bool ok(const Answer& a) { return a.status == 200 || a.status == 202; }

void print_json(const Value& v) { std::cout << to_json(v, {.style = JsonStyle::Pretty}) << "\n"; }

// A whole command against the running daemon: connect, call, print (JSON, or `human`).
int over_api(const std::string& config_arg, const char* verb, const std::string& method,
             const std::string& path, const Value& body, bool json,
             const std::function<void(const Value&)>& human) {
  auto config = load_daemon_config(config_arg, verb);
  if (!config) return kExitUsage;
  auto client = AdminClient::connect(*config, verb);
  if (!client) return kExitNotRunning;
  if (!client->usable()) return kExitFailure;
  Answer a = client->call(method, path, body);
  if (!ok(a)) return report_error(a, verb);
  if (json) {
    print_json(a.body);
  } else {
    human(a.body);
  }
  return kExitOk;
}

// matchEvents as people write them: {"Shotgun_Task_Change": ["sg_status_list"]} -> one line.
std::string match_text(const Value& callbacks) {
  std::string out;
  if (const List* list = callbacks.if_list()) {
    for (const Value& c : *list) {
      if (!out.empty()) out += "; ";
      const Value& m = c["match_events"];
      out += text_of(c["name"]) + " " + (m.is_null() ? "{every event}" : text_of(m));
    }
  }
  return out.empty() ? "-" : out;
}

void print_plugins(const Value& body) {
  std::vector<std::vector<std::string>> rows;
  if (const List* plugins = body["plugins"].if_list()) {
    for (const Value& p : *plugins) {
      rows.push_back({text_of(p["name"]), text_of(p["state"]), text_of(p["cursor"]),
                      text_of(p["lag"]), text_of(p["dead_letters"]), match_text(p["callbacks"])});
    }
  }
  print_table({"PLUGIN", "STATE", "CURSOR", "LAG", "DEAD", "CALLBACKS (matchEvents)"}, rows);
}

void print_letters(const Value& body) {
  std::vector<std::vector<std::string>> rows;
  if (const List* letters = body["dead_letters"].if_list()) {
    for (const Value& d : *letters) {
      rows.push_back({text_of(d["id"]), text_of(d["plugin"]), text_of(d["callback"]),
                      text_of(d["event_id"]), text_of(d["attempts"]), text_of(d["last_failure"]),
                      text_of(d["error"])});
    }
  }
  if (rows.empty()) {
    std::cout << "no dead letters\n";
    return;
  }
  print_table({"ID", "PLUGIN", "CALLBACK", "EVENT", "ATTEMPTS", "LAST FAILURE", "ERROR"}, rows);
  if (!body["next_after"].is_null()) {
    std::cout << "(more: --after " << text_of(body["next_after"]) << ")\n";
  }
}

void print_letter(const Value& d) {
  for (const char* key : {"id", "plugin", "path", "callback", "event_id", "attempts",
                          "first_failure", "last_failure", "retry_count", "retried_at"}) {
    if (!d[key].is_null()) std::cout << key << ": " << text_of(d[key]) << "\n";
  }
  std::cout << "error:\n"
            << text_of(d["error"]) << "\nevent:\n"
            << to_json(d["event"], {.style = JsonStyle::Pretty}) << "\n";
}

// --- With the daemon stopped: the state itself ----------------------------------------------

// A replay or a retry with the daemon stopped: the engine runs here for this one request
// (daemon/engine.h OneShot), and the outcome is printed. The exit code: 0 when every callback
// run succeeded, 1 otherwise.
int run_offline(const daemon::Config& config, daemon::OneShot& shot, const char* verb, bool json,
                const std::function<void(const Value&)>& human) {
  if (!json) {
    std::cout << "sgeventd " << verb
              << ": the daemon is not running; running the request here (its log follows)\n";
  }
  const int code = run_one_shot(config, shot, !json);
  using Code = dispatch::ControlAnswer::Code;
  if (shot.answer.code == Code::kOk && shot.answer.body.is_null()) {
    return code == 0 ? kExitFailure : code;  // it did not start (said why)
  }
  if (shot.answer.code != Code::kAccepted) {
    std::cerr << "sgeventd " << verb << ": " << shot.answer.error << "\n";
    print_known_plugins(shot.answer.body);
    return kExitFailure;
  }
  if (json) {
    print_json(Value(Dict{{"request", shot.answer.body},
                          {"succeeded", static_cast<long long>(shot.succeeded)},
                          {"failed", static_cast<long long>(shot.failed)},
                          {"finished", shot.finished}}));
  } else {
    human(shot.answer.body);
    std::cout << shot.succeeded << " callback run(s) succeeded, " << shot.failed << " failed"
              << (shot.finished ? "" : "; stopped before every one was answered") << "\n";
  }
  return shot.finished && shot.failed == 0 ? kExitOk : kExitFailure;
}

struct LetterArgs {
  std::string plugin;
  std::int64_t after = 0;
  std::size_t limit = 100;
  std::int64_t id = 0;
  bool json = false;
};

// Letter `id` of the state; nullopt, said why as "sgeventd VERB: ...", when it cannot be read.
std::optional<state::DeadLetter> letter_in(state::StateStore& store, std::int64_t id,
                                           const std::string& verb) {
  auto letter = store.dead_letter(id);
  if (letter && *letter) return std::move(**letter);
  std::cerr << "sgeventd " << verb << ": "
            << (letter ? "no dead letter " + std::to_string(id) : letter.error().describe())
            << "\n";
  return std::nullopt;
}

// A shared state (PostgreSQL), opened by a command. A write needs the lease: refused while a
// daemon leads (its admin API is the way then); the caller gives it back when done.
std::unique_ptr<state::StateStore> open_shared_state(const daemon::Config& config,
                                                     const std::string& verb, bool read_only) {
  auto opened = daemon::open_for_command(
      config, read_only, !read_only, "run the command on its host, where it goes to that daemon");
  if (!opened) {
    std::cerr << "sgeventd " << verb << ": " << opened.error().message << "\n";
    return nullptr;
  }
  return std::move(opened->store);
}

// A stopped daemon's state, opened by a command; null, said why as "sgeventd VERB: ...", when
// there is none or it cannot be opened.
std::unique_ptr<state::StateStore> open_state(const daemon::Config& config, const std::string& verb,
                                              bool read_only) {
  if (config.state.shared()) return open_shared_state(config, verb, read_only);
  const std::string& path = config.daemon.event_id_file;
  if (!std::filesystem::exists(path)) {
    std::cerr << "sgeventd " << verb << ": no state at " << path << " (the daemon never ran)\n";
    return nullptr;
  }
  state::SqliteStateOptions o;
  o.import_legacy = false;  // the daemon imports a shotgunEvents state, not this command
  o.read_only = read_only;
  auto store = state::SqliteStateStore::open(path, o);
  if (!store) {
    std::cerr << "sgeventd " << verb << ": " << store.error().describe() << "\n";
    return nullptr;
  }
  return std::move(*store);
}

// dead-letters list|show|drop on a stopped daemon.
int letters_offline(const daemon::Config& config, const std::string& action,
                    const LetterArgs& args) {
  const std::string verb = "dead-letters " + action;
  auto store = open_state(config, verb, action != "drop");
  if (!store) return kExitFailure;
  if (action == "list") {
    state::DeadLetterQuery q;
    q.after_id = args.after;
    q.limit = std::clamp<std::size_t>(args.limit, 1, 1000);
    if (!args.plugin.empty()) {
      auto plugins = store->plugins();
      if (!plugins) {
        std::cerr << "sgeventd " << verb << ": " << plugins.error().describe() << "\n";
        return kExitFailure;
      }
      std::vector<std::string> known;
      int matches = 0;
      for (const auto& p : *plugins) {
        known.push_back(p.key.name);
        if (p.key.path == args.plugin) {
          q.plugin = p.key;  // a path names one plugin
          matches = 1;
          break;
        }
        if (p.key.name == args.plugin) {
          q.plugin = p.key;
          ++matches;
        }
      }
      if (matches > 1) {
        std::cerr << "sgeventd " << verb << ": plugins in several folders are named \""
                  << args.plugin << "\"; give the plugin's path instead\n";
        return kExitUsage;
      }
      if (!q.plugin) {
        std::cerr << "sgeventd " << verb << ": no plugin named \"" << args.plugin
                  << "\" in the state\nknown plugins:";
        for (const auto& k : known) std::cerr << " " << k;
        std::cerr << "\n";
        return kExitFailure;
      }
    }
    auto letters = store->dead_letters(q);
    if (!letters) {
      std::cerr << "sgeventd " << verb << ": " << letters.error().describe() << "\n";
      return kExitFailure;
    }
    List out;
    for (const auto& d : *letters) out.push_back(dispatch::describe_dead_letter(d, false));
    Dict body{{"dead_letters", std::move(out)}};
    body["next_after"] =
        letters->size() == q.limit ? Value(static_cast<long long>(letters->back().id)) : Value();
    args.json ? print_json(Value(std::move(body))) : print_letters(Value(std::move(body)));
    return kExitOk;
  }
  if (action == "show") {
    auto letter = letter_in(*store, args.id, verb);
    if (!letter) return kExitFailure;
    const Value v = dispatch::describe_dead_letter(*letter, true);
    args.json ? print_json(v) : print_letter(v);
    return kExitOk;
  }
  auto gone = store->delete_dead_letter(args.id);
  if (auto* lease = store->leader_lease()) (void)lease->release();
  if (!gone || !*gone) {
    std::cerr << "sgeventd " << verb << ": "
              << (gone ? "no dead letter " + std::to_string(args.id) : gone.error().describe())
              << "\n";
    return kExitFailure;
  }
  if (auto r = store->checkpoint(); !r) {
    std::cerr << "sgeventd " << verb << ": " << r.error().describe() << "\n";
    return kExitFailure;
  }
  args.json ? print_json(Value(Dict{{"dropped", static_cast<long long>(args.id)}}))
            : void(std::cout << "dead letter " << args.id << " dropped\n");
  return kExitOk;
}

// dead-letters retry on a stopped daemon: the letter's plugin is loaded here and its event
// sent to the callback again; the letter leaves the list when it succeeds.
int retry_offline(const daemon::Config& config, const LetterArgs& args) {
  const char* verb = "dead-letters retry";
  std::string plugin_path;
  {  // which plugin to load; closed before the engine takes the state
    auto store = open_state(config, verb, true);
    if (!store) return kExitFailure;
    auto letter = letter_in(*store, args.id, verb);
    if (!letter) return kExitFailure;
    plugin_path = letter->plugin.path;
  }
  daemon::OneShot shot;
  shot.request.kind = dispatch::ControlRequest::Kind::kRetry;
  shot.request.letter = args.id;
  shot.only_plugin = plugin_path;
  return run_offline(config, shot, verb, args.json, [&args](const Value& a) {
    std::cout << "dead letter " << args.id << " (event " << text_of(a["event_id"]) << ") retried\n";
  });
}

int run_dead_letters(const std::string& config_arg, const std::string& action,
                     const LetterArgs& args) {
  const std::string verb = "dead-letters " + action;
  auto config = load_daemon_config(config_arg, verb.c_str());
  if (!config) return kExitUsage;
  auto client = AdminClient::connect(*config, verb.c_str(), true);
  if (!client) {
    if (action == "retry") return retry_offline(*config, args);
    return letters_offline(*config, action, args);
  }
  if (!client->usable()) return kExitFailure;
  const std::string id = std::to_string(args.id);
  Answer a;
  if (action == "list") {
    std::string query = "?after=" + std::to_string(args.after) +
                        "&limit=" + std::to_string(std::max<std::size_t>(args.limit, 1));
    if (!args.plugin.empty())
      query += "&plugin=" + httplib::detail::encode_query_param(args.plugin);
    a = client->call("GET", "/dead-letters" + query);
  } else if (action == "show") {
    a = client->call("GET", "/dead-letters/" + id);
  } else if (action == "retry") {
    a = client->call("POST", "/dead-letters/" + id + "/retry");
  } else {
    a = client->call("DELETE", "/dead-letters/" + id);
  }
  if (!ok(a)) return report_error(a, verb.c_str());
  if (args.json) {
    print_json(a.body);
  } else if (action == "list") {
    print_letters(a.body);
  } else if (action == "show") {
    print_letter(a.body);
  } else if (action == "retry") {
    std::cout << "dead letter " << id << " (event " << text_of(a.body["event_id"])
              << ") queued for a retry; it leaves the list once its callback succeeds "
                 "(sgeventd dead-letters show "
              << id << ")\n";
  } else {
    std::cout << "dead letter " << id << " dropped\n";
  }
  return kExitOk;
}

// "1,2,3" -> ids; false on anything else.
bool parse_ids(const std::string& text, List& out) {
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos ||
        item.size() > 18) {
      return false;
    }
    out.emplace_back(static_cast<long long>(std::stoll(item)));
  }
  return !out.empty();
}

struct ReplayArgs {
  std::string ids, plugin;
  std::int64_t from = 0, to = 0;
  bool json = false;
};

int run_replay(const std::string& config_arg, const ReplayArgs& args) {
  Dict body;
  if (!args.ids.empty()) {
    List ids;
    if (!parse_ids(args.ids, ids)) {
      std::cerr << "sgeventd replay: --ids takes event ids separated by commas, e.g. 1,2,3\n";
      return kExitUsage;
    }
    body["ids"] = std::move(ids);
  } else if (args.from > 0 && args.to > 0) {
    body["from"] = static_cast<long long>(args.from);
    body["to"] = static_cast<long long>(args.to);
  } else {
    std::cerr << "sgeventd replay: give --ids 1,2,3 or --from ID --to ID\n";
    return kExitUsage;
  }
  if (!args.plugin.empty()) body["plugin"] = args.plugin;
  auto human = [](const Value& a) {
    std::cout << "replaying " << text_of(a["events"]) << "\n";
    if (const Dict* queued = a["queued"].if_dict()) {
      if (queued->empty()) std::cout << "  no plugin takes these events\n";
      for (const auto& [plugin, n] : *queued) {
        std::cout << "  " << plugin << ": " << text_of(n) << " event(s)\n";
      }
    }
  };
  auto config = load_daemon_config(config_arg, "replay");
  if (!config) return kExitUsage;
  auto client = AdminClient::connect(*config, "replay", true);
  if (client) {
    if (!client->usable()) return kExitFailure;
    Answer a = client->call("POST", "/replay", Value(std::move(body)));
    if (!ok(a)) return report_error(a, "replay");
    args.json ? print_json(a.body) : human(a.body);
    return kExitOk;
  }
  // Stopped: the events are read and delivered here, through the same dispatcher code.
  daemon::OneShot shot;
  shot.request.kind = dispatch::ControlRequest::Kind::kReplay;
  shot.request.plugin = args.plugin;
  shot.only_plugin = args.plugin;
  daemon::ReplaySelection selection;
  if (const List* ids = body["ids"].if_list()) {
    for (const Value& id : *ids) selection.ids.push_back(id.if_int().value_or(0));
  } else {
    selection.from = args.from;
    selection.to = args.to;
  }
  shot.replay = std::move(selection);
  return run_offline(*config, shot, "replay", args.json, human);
}

int run_reload(const std::string& config_arg, const std::string& plugin, bool json) {
  if (!plugin.empty()) {
    return over_api(
        config_arg, "reload", "POST", "/reload", Value(Dict{{"plugin", plugin}}), json,
        [](const Value& a) { std::cout << "reloading " << text_of(a["reloading"]) << "\n"; });
  }
  // Every plugin: SIGHUP, which works with the admin API off too.
  auto config = load_daemon_config(config_arg, "reload");
  if (!config) return kExitUsage;
  auto pid = daemon::running_daemon(config->daemon.pid_file);
  if (!pid) {
    std::cerr << "sgeventd reload: not running\n";
    return kExitNotRunning;
  }
  if (kill(*pid, SIGHUP) != 0) {
    std::perror("sgeventd reload: kill");
    return kExitFailure;
  }
  std::cout << "sgeventd reloading its plugins (pid " << *pid << ")\n";
  return kExitOk;
}

}  // namespace

void add_control_commands(CLI::App& app, Runner& run) {
  const std::string config_help = "config file (as for `sgeventd start`)";
  auto config = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto common = [&](CLI::App* sub) {
    sub->add_option("-c,--config", *config, config_help);
    sub->add_flag("--json", *json, "print the daemon's answer as JSON");
  };

  auto* plugins = app.add_subcommand(
      "plugins",
      "Each plugin of the running daemon: state, cursor, lag, dead letters, callbacks "
      "and their matchEvents.");
  common(plugins);
  plugins->callback([config, json, &run] {
    run = [config, json] {
      return over_api(*config, "plugins", "GET", "/plugins", {}, *json, print_plugins);
    };
  });

  auto plugin = std::make_shared<std::string>();
  auto* reload = app.add_subcommand(
      "reload",
      "Load the plugins again from disk: every one (SIGHUP), or PLUGIN's worker only "
      "(admin API). Deactivated plugins come back; disabled ones stay off.");
  common(reload);
  reload->add_option("plugin", *plugin, "a plugin's name (or its file's path)");
  reload->callback([config, json, plugin, &run] {
    run = [config, json, plugin] { return run_reload(*config, *plugin, *json); };
  });

  auto reason = std::make_shared<std::string>();
  auto* enable = app.add_subcommand(
      "enable",
      "Put a disabled (or deactivated) plugin back on the feed: it resumes after its "
      "cursor.");
  common(enable);
  enable->add_option("plugin", *plugin, "a plugin's name (or its file's path)")->required();
  enable->callback([config, json, plugin, &run] {
    run = [config, json, plugin] {
      return over_api(*config, "enable", "POST", "/enable", Value(Dict{{"plugin", *plugin}}), *json,
                      [](const Value& a) {
                        std::cout << text_of(a["plugin"]) << ": " << text_of(a["state"])
                                  << (a["changed"].is_bool() && !a["changed"].as_bool()
                                          ? " (it was)"
                                          : ", resuming after event " + text_of(a["resumes_after"]))
                                  << "\n";
                      });
    };
  });
  auto* disable =
      app.add_subcommand("disable",
                         "Take a plugin off the feed, restarts included, keeping its cursor, until "
                         "`sgeventd enable`.");
  common(disable);
  disable->add_option("plugin", *plugin, "a plugin's name (or its file's path)")->required();
  disable->add_option("--reason", *reason, "why (shown by status)");
  disable->callback([config, json, plugin, reason, &run] {
    run = [config, json, plugin, reason] {
      Dict body{{"plugin", *plugin}};
      if (!reason->empty()) body["reason"] = *reason;
      return over_api(*config, "disable", "POST", "/disable", Value(std::move(body)), *json,
                      [](const Value& a) {
                        std::cout << text_of(a["plugin"]) << ": disabled"
                                  << (a["changed"].truthy() ? "" : " (it was)")
                                  << ", cursor kept at " << text_of(a["cursor"]) << "\n";
                      });
    };
  });

  auto letters = std::make_shared<LetterArgs>();
  auto* dead =
      app.add_subcommand("dead-letters",
                         "Events a callback was given up on: list, show, retry, drop. list, show "
                         "and drop also work with the daemon stopped (on the state itself).");
  dead->require_subcommand(1);
  auto* list = dead->add_subcommand("list", "The dead letters, oldest first.");
  common(list);
  list->add_option("--plugin", letters->plugin, "only this plugin's");
  list->add_option("--after", letters->after, "letters after this id (paging)");
  list->add_option("--limit", letters->limit, "at most this many (default 100, at most 1000)");
  auto action = [config, json, letters, &run](const char* name) {
    return [config, json, letters, &run, name] {
      run = [config, json, letters, name] {
        letters->json = *json;
        return run_dead_letters(*config, name, *letters);
      };
    };
  };
  list->callback(action("list"));
  const std::pair<const char*, const char*> by_id[] = {
      {"show", "One letter: its error with the traceback, and the event."},
      {"retry",
       "Send the letter's event to its callback again (the running daemon); it leaves the list "
       "once it succeeds. No cursor moves."},
      {"drop", "Forget the letter."}};
  for (const auto& [name, help] : by_id) {
    auto* sub = dead->add_subcommand(name, help);
    common(sub);
    sub->add_option("id", letters->id, "the letter's id (dead-letters list)")->required();
    sub->callback(action(name));
  }

  auto replay = std::make_shared<ReplayArgs>();
  auto* rp = app.add_subcommand(
      "replay",
      "Fetch events from the site and deliver them again, to every plugin they match "
      "or to --plugin, without moving any cursor. The event carries "
      "\"sgeventd_replay\": \"replay\".");
  common(rp);
  rp->add_option("--ids", replay->ids, "event ids, separated by commas");
  rp->add_option("--from", replay->from, "the first id of a range (with --to)");
  rp->add_option("--to", replay->to, "the last id of a range (inclusive, at most 10000 ids)");
  rp->add_option("--plugin", replay->plugin, "only this plugin");
  rp->callback([config, json, replay, &run] {
    run = [config, json, replay] {
      replay->json = *json;
      return run_replay(*config, *replay);
    };
  });
}

}  // namespace sgeventd::cli
