// `sgeventd try PLUGIN`: a dry run of one plugin on given events (docs/testing-plugins.md). The
// plugin runs in a real worker as the daemon runs it; its `sg` talks to a WriteCapture that
// sends reads to the site and keeps writes (shown, not sent) unless --allow-writes. With
// --sandbox the site is an embedded sandbox, seeded from the recording's entities, whose
// writes are applied, and the events they cause are shown too.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>

#include "authoring/try_run.h"
#include "authoring/write_capture.h"
#include "cli/commands.h"
#include "cli/daemon_config.h"
#include "cli/site_flags.h"
#include "daemon/plugin_discovery.h"
#include "log/redactor.h"
#include "sgeventd/json.h"
#include "sgeventd/sandbox.h"
#include "sgeventd/version.h"
#include "source/sg_event_log_reader.h"

namespace sgeventd::cli {
namespace {

struct TryArgs {
  SiteFlags site;
  std::string plugin;
  std::string events_file;
  std::vector<std::int64_t> ids;
  int last = 0;
  bool sandbox = false;
  std::string schema;
  bool allow_writes = false;
  bool json = false;
  double callback_timeout = 120;
};

// ---- reading the events ----

::sgeventd::Expected<sandbox::Recording, std::string> read_recording(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto recording = sandbox::parse_recording(text.str());
  if (!recording) return tl::unexpected(path + ": " + recording.error());
  return recording;
}

sg::Result<List> read_site_events(sg::Client& sg, const TryArgs& a) {
  sg::FindOptions find;
  find.fields = source::event_fields();
  if (!a.ids.empty()) {
    List ids;
    for (auto id : a.ids) ids.emplace_back(static_cast<long long>(id));
    find.order = List{Dict{{"field_name", "id"}, {"direction", "asc"}}};
    return sg.find("EventLogEntry", List{List{"id", "in", std::move(ids)}}, find);
  }
  find.order = List{Dict{{"field_name", "id"}, {"direction", "desc"}}};
  find.limit = a.last;
  auto events = sg.find("EventLogEntry", List{}, find);
  if (events) std::reverse(events->begin(), events->end());
  return events;
}

// ---- printing ----

std::string readable(const Value& v) {
  if (const std::string* type = v["type"].if_string(); type && v["id"].is_int()) {
    std::string out = *type + " " + std::to_string(v["id"].as_int());
    if (const std::string* name = v["name"].if_string()) out += " (" + *name + ")";
    return out;
  }
  if (const List* items = v.if_list();
      items && !items->empty() && (*items)[0]["type"].is_string()) {
    std::string out = "[";
    for (const Value& item : *items) out += (out.size() > 1 ? ", " : "") + readable(item);
    return out + "]";
  }
  return to_json(v);
}

std::string describe_event(const Value& e) {
  std::string out = "event " + to_json(e["id"]);
  if (const std::string* type = e["event_type"].if_string()) out += " " + *type;
  if (const std::string* attribute = e["attribute_name"].if_string()) out += " " + *attribute;
  if (e["entity"].is_dict()) out += " on " + readable(e["entity"]);
  const Value& meta = e["meta"];
  if (meta["type"] == Value("attribute_change") && meta.is_dict() &&
      meta.as_dict().contains("new_value")) {
    out += ": " + readable(meta["old_value"]) + " -> " + readable(meta["new_value"]);
  }
  if (e["user"].is_dict()) out += " by " + readable(e["user"]);
  return out;
}

std::string field_list(const Value& fields, const Value& before) {
  std::string out;
  if (const List* list = fields.if_list()) {
    for (const Value& f : *list) {
      const std::string name = f["field_name"].if_string() ? f["field_name"].as_string() : "?";
      out += (out.empty() ? "" : ", ") + name + ": ";
      if (before.is_dict() && before.as_dict().contains(name))
        out += readable(before[name]) + " -> ";
      out += readable(f["value"]);
      if (const std::string* mode = f["multi_entity_update_mode"].if_string()) {
        out += " (" + *mode + ")";
      }
    }
  }
  return out;
}

std::string describe_request(const std::string& method, const Value& p, const Value& before) {
  const std::string type = p["type"].if_string() ? p["type"].as_string() : to_json(p["type"]);
  if (method == "create") return "create " + type + ": " + field_list(p["fields"], {});
  if (method == "update") {
    return "update " + type + " " + to_json(p["id"]) + ": " + field_list(p["fields"], before);
  }
  if (method == "delete" || method == "revive") return method + " " + type + " " + to_json(p["id"]);
  return method + (p.is_null() ? "" : " " + to_json(p));
}

std::vector<std::string> describe_write(const authoring::CapturedWrite& w) {
  std::vector<std::string> out;
  const std::string sent = w.sent ? "" : "   [not sent]";
  if (w.method == "batch") {
    out.push_back("batch (one transaction):" + sent);
    if (const List* requests = w.params.if_list()) {
      for (const Value& r : *requests) {
        const std::string kind =
            r["request_type"].if_string() ? r["request_type"].as_string() : "?";
        Dict p = r.is_dict() ? r.as_dict() : Dict{};
        out.push_back("  " + describe_request(kind, p, {}));
      }
    }
    return out;
  }
  out.push_back(describe_request(w.method, w.params, w.before) + sent);
  return out;
}

const char* level_name(int level) {
  if (level >= 50) return "CRITICAL";
  if (level >= 40) return "ERROR";
  if (level >= 30) return "WARNING";
  if (level >= 20) return "INFO";
  return "DEBUG";
}

Value outcome_json(const authoring::EventOutcome& o, const List& caused) {
  List logs, results, writes;
  for (const auto& l : o.logs) {
    logs.push_back(Dict{{"level", l.level}, {"logger", l.logger}, {"message", l.message}});
  }
  for (const auto& r : o.results) {
    results.push_back(Dict{{"callback", r.index},
                           {"ok", r.ok},
                           {"error", r.error},
                           {"traceback", r.traceback},
                           {"duration_ms", r.duration_ms}});
  }
  for (const auto& w : o.writes) {
    writes.push_back(
        Dict{{"method", w.method}, {"params", w.params}, {"sent", w.sent}, {"before", w.before}});
  }
  List stderr_lines(o.stderr_lines.begin(), o.stderr_lines.end());
  List callbacks(o.callbacks.begin(), o.callbacks.end());
  return Dict{{"event", o.event},
              {"callbacks", std::move(callbacks)},
              {"logs", std::move(logs)},
              {"stderr", std::move(stderr_lines)},
              {"results", std::move(results)},
              {"writes", std::move(writes)},
              {"caused", caused},
              {"worker_ended", o.worker_ended}};
}

// ---- the run ----

struct Totals {
  int events = 0, handled = 0, failed = 0, writes = 0;
};

int run_try_command(const TryArgs& a) {
  const auto fail = [](int code, const std::string& message) {
    std::cerr << "sgeventd try: " << message << "\n";
    return code;
  };
  if (a.events_file.empty() && a.ids.empty() && a.last == 0) {
    return fail(kExitUsage, "give the events: --events FILE, --ids 1,2,3 or --last N");
  }
  // The daemon's config when one is named: [python] settings, and the sections plugins read.
  daemon::Config config;
  const char* env_config = std::getenv("SGEVENTD_CONFIG");
  const std::string config_file =
      !a.site.config_file.empty() ? a.site.config_file : (env_config ? env_config : "");
  if (!config_file.empty()) {
    auto loaded = load_daemon_config(config_file, "try");
    if (!loaded) return kExitUsage;
    config = std::move(*loaded);
  }
  auto worker = daemon::worker_for_file(config, executable_dir(), a.plugin,
                                        config::IniFile::process_environment());
  if (!worker) return fail(kExitUsage, worker.error());

  sandbox::Recording recording;
  if (!a.events_file.empty()) {
    auto r = read_recording(a.events_file);
    if (!r) return fail(kExitUsage, r.error());
    recording = std::move(*r);
  }

  // The site the plugin's sg talks to, through the capture.
  std::unique_ptr<sandbox::Sandbox> site;
  sg::ConnectionSettings upstream;
  if (a.sandbox) {
    upstream.base_url = "http://127.0.0.1:1";  // set once the sandbox runs (after the load)
  } else {
    auto settings = site_settings(a.site);
    if (!settings) return fail(kExitUsage, settings.error());
    upstream = std::move(*settings);
  }
  sg::ConnectionSettings reader_settings = upstream;  // our own reads (events, caused events)
  authoring::CaptureOptions capture_options;
  capture_options.upstream = upstream;
  capture_options.allow_writes = a.allow_writes || a.sandbox;
  capture_options.upstream.script_name.clear();
  capture_options.upstream.script_key.clear();
  auto capture = authoring::WriteCapture::start(capture_options);
  if (!capture) return fail(kExitFailure, capture.error());

  std::optional<sg::Client> reader;
  const auto make_reader = [&]() -> ::sgeventd::Expected<void, std::string> {
    auto c = sg::Client::create(reader_settings);
    if (!c) return tl::unexpected(c.error().describe());
    reader.emplace(std::move(*c));
    return {};
  };

  authoring::TryOptions o;
  o.worker.id = worker->id;
  o.worker.spawn = std::move(worker->spawn);
  o.worker.plugins = worker->plugins;
  o.worker.exec = !worker->manifest.empty();
  o.worker.credentials = worker->credentials;
  o.hello.daemon = std::string("sgeventd ") + kVersion;
  o.hello.site = Dict{{"url", (*capture)->url()}, {"proxy", ""}, {"use_session_uuid", false}};
  o.hello.config = config_file.empty() ? Value(Dict{}) : daemon::config_sections(config.ini);
  o.callback_timeout = std::chrono::milliseconds(static_cast<long long>(a.callback_timeout * 1000));
  o.capture = capture->get();

  List events = recording.events;
  std::int64_t seeded_last = 0;
  // Script keys never reach the terminal or a CI log: the daemon's log redactor masks them.
  log::Redactor secrets;
  std::map<int, std::string> callback_names;
  o.after_load =
      [&](const authoring::TryReport& loaded) -> ::sgeventd::Expected<void, std::string> {
    for (const auto& key : loaded.secrets) secrets.add(key);
    for (const auto& cb : loaded.callbacks) callback_names[cb.index] = cb.name;
    if (a.sandbox) {
      // The plugin's scripts, each with its key (registered in the same order), may write.
      sandbox::SandboxOptions so;
      std::vector<std::string> names;
      for (const auto& cb : loaded.callbacks) {
        if (!cb.script_name.empty() &&
            std::find(names.begin(), names.end(), cb.script_name) == names.end()) {
          names.push_back(cb.script_name);
        }
      }
      so.scripts.clear();
      for (std::size_t i = 0; i < names.size() && i < loaded.secrets.size(); ++i) {
        so.scripts.push_back({names[i], loaded.secrets[i]});
      }
      std::random_device random;
      const std::string own_key = "try-" + std::to_string(random()) + std::to_string(random());
      so.scripts.push_back({"sgeventd-try", own_key});
      so.schema_file = a.schema;
      site = std::make_unique<sandbox::Sandbox>();
      if (auto ok = site->start(so); !ok) return tl::unexpected("the sandbox: " + ok.error());
      for (const auto& w : site->schema_warnings()) std::cerr << "schema: " << w << "\n";
      if (!recording.entities.empty()) {
        auto notes = site->seed_snapshot(recording.entities);
        if (!notes) return tl::unexpected("seeding the sandbox: " + notes.error());
        std::cerr << "seeded the sandbox with " << recording.entities.size()
                  << " recorded entities\n";
        for (const auto& n : *notes) std::cerr << "  " << n << "\n";
      }
      (*capture)->set_upstream(site->url());
      reader_settings = sg::ConnectionSettings{};
      reader_settings.base_url = site->url();
      reader_settings.script_name = "sgeventd-try";
      reader_settings.script_key = own_key;
    }
    if (auto ok = make_reader(); !ok) return tl::unexpected(ok.error());
    if (a.allow_writes || a.sandbox) {
      // Where the events the plugin's writes cause will start.
      sg::FindOptions newest;
      newest.order = List{Dict{{"field_name", "id"}, {"direction", "desc"}}};
      auto last = reader->find_one("EventLogEntry", List{}, newest);
      if (!last) return tl::unexpected("reading the event log: " + last.error().describe());
      if (last->is_dict()) seeded_last = (*last)["id"].if_int().value_or(0);
    }
    if (events.empty()) {
      auto read = read_site_events(*reader, a);
      if (!read) return tl::unexpected("reading the events: " + read.error().describe());
      events = std::move(*read);
    }
    return {};
  };

  Totals totals;
  List json_events;
  std::int64_t last_seen = 0;
  o.on_event = [&](const authoring::EventOutcome& out) {
    ++totals.events;
    // What the plugin's writes caused, when they were sent: the site's events since the last
    // look (on a real site, anyone else's events of that moment too).
    List caused;
    const bool sent = std::any_of(out.writes.begin(), out.writes.end(),
                                  [](const authoring::CapturedWrite& w) { return w.sent; });
    if (sent && reader) {
      const std::int64_t from = std::max(last_seen, seeded_last);
      sg::FindOptions find;
      find.fields = source::event_fields();
      find.order = List{Dict{{"field_name", "id"}, {"direction", "asc"}}};
      if (auto read =
              reader->find("EventLogEntry",
                           List{List{"id", "greater_than", static_cast<long long>(from)}}, find)) {
        caused = std::move(*read);
      }
      last_seen = from;
      for (const Value& e : caused) last_seen = std::max(last_seen, e["id"].if_int().value_or(0));
    }
    totals.writes += static_cast<int>(out.writes.size());
    bool failed = !out.worker_ended.empty();
    for (const auto& r : out.results) failed = failed || !r.ok;
    if (!out.callbacks.empty()) (failed ? totals.failed : totals.handled) += 1;
    if (a.json) {
      json_events.push_back(outcome_json(out, caused));
      return;
    }
    std::ostringstream s;
    s << describe_event(out.event) << "\n";
    if (out.callbacks.empty()) {
      s << "  no callback's matchEvents takes it\n";
    }
    for (const auto& l : out.logs) {
      s << "  log " << level_name(l.level) << " " << l.logger << ": " << l.message << "\n";
    }
    for (const auto& line : out.stderr_lines) s << "  stderr: " << line << "\n";
    for (const auto& r : out.results) {
      const auto known = callback_names.find(r.index);
      const std::string name =
          known != callback_names.end() ? known->second : "#" + std::to_string(r.index);
      if (r.ok) {
        s << "  ok callback " << name << " (" << static_cast<long long>(r.duration_ms) << " ms)\n";
      } else {
        s << "  FAILED callback " << name << ": " << r.error << "\n";
        std::istringstream tb(r.traceback);
        for (std::string line; std::getline(tb, line);) s << "    " << line << "\n";
      }
    }
    if (!out.worker_ended.empty()) s << "  the worker ended: " << out.worker_ended << "\n";
    for (const auto& w : out.writes) {
      for (const auto& line : describe_write(w)) s << "  write: " << line << "\n";
    }
    for (const Value& e : caused) {
      s << "  caused on the " << (site ? "sandbox" : "site") << ": " << describe_event(e) << "\n";
    }
    std::cout << secrets.redact(s.str()) << std::flush;
  };

  auto report = authoring::run_try(std::move(o), events);
  if (!report) return fail(kExitFailure, secrets.redact(report.error()));
  if (!report->loaded) {
    // The load's keys, when it failed before after_load could register them.
    for (const auto& key : report->secrets) secrets.add(key);
    std::cerr << "sgeventd try: " << a.plugin << " did not load:\n"
              << secrets.redact(report->load_error) << "\n";
    return kExitFailure;
  }
  if (a.json) {
    List callbacks;
    for (const auto& cb : report->callbacks) {
      callbacks.push_back(
          Dict{{"index", cb.index}, {"name", cb.name}, {"match_events", cb.match_events}});
    }
    const Value doc = Dict{{"plugin", a.plugin},
                           {"callbacks", std::move(callbacks)},
                           {"events", std::move(json_events)}};
    std::cout << secrets.redact(to_json(doc, {.style = JsonStyle::Pretty})) << "\n";
  }
  std::cerr << "sgeventd try: " << totals.events << " event(s), " << totals.handled << " handled, "
            << totals.failed << " failed, " << totals.writes << " write(s) "
            << (a.sandbox        ? "applied to the sandbox"
                : a.allow_writes ? "sent"
                                 : "captured, not sent")
            << "\n";
  return totals.failed > 0 ? kExitFailure : kExitOk;
}

}  // namespace

void add_try_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<TryArgs>();
  auto* sub = app.add_subcommand(
      "try",
      "Dry-run one plugin (.py or .plugin) on given events, in a worker as the daemon runs it: "
      "prints what it logged, its errors with tracebacks, and every write it attempted. "
      "Against a site, reads go to the site and writes are shown, never sent (unless "
      "--allow-writes); with --sandbox, writes are applied to an embedded sandbox and the "
      "events they cause are shown (docs/testing-plugins.md).");
  sub->add_option("plugin", a->plugin, "the plugin file")->required()->check(CLI::ExistingFile);
  auto* events = sub->add_option("--events", a->events_file,
                                 "JSON lines from `sgeventd record` (entity lines seed --sandbox)")
                     ->check(CLI::ExistingFile);
  auto* ids = sub->add_option("--ids", a->ids, "event ids to read from the site")->delimiter(',');
  auto* last = sub->add_option("--last", a->last, "the site's newest N events")
                   ->check(CLI::Range(1, 100000));
  events->excludes(ids)->excludes(last);
  ids->excludes(last);
  auto* sandbox =
      sub->add_flag("--sandbox", a->sandbox, "run against an embedded sandbox instead of a site");
  sub->add_option("--schema", a->schema, "with --sandbox: a studio's schema (see sandbox --schema)")
      ->check(CLI::ExistingPath)
      ->needs(sandbox);
  auto* allow = sub->add_flag("--allow-writes", a->allow_writes,
                              "send the plugin's writes to the site (they are still shown)");
  allow->excludes(sandbox);
  sub->add_flag("--json", a->json, "print the report as one JSON document");
  sub->add_option("--callback-timeout", a->callback_timeout,
                  "seconds an event may take before its worker is ended")
      ->capture_default_str();
  add_site_flags(*sub, a->site, /*writes=*/false);
  sub->footer(std::string("Examples:\n"
                          "  sgeventd try plugins/shot_status.py --events case.jsonl --sandbox\n"
                          "  sgeventd try plugins/shot_status.py -c shotgunEventDaemon.conf "
                          "--last 20\n") +
              kSiteFlagsFooter +
              "\nExit status: 0 every callback succeeded, 1 one failed (or the plugin did not "
              "load, or the site failed), 2 bad arguments.");
  sub->callback([&run, a] { run = [a] { return run_try_command(*a); }; });
}

}  // namespace sgeventd::cli
