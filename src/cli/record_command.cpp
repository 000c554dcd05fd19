// `sgeventd record`: events from a site (read-only) into JSON lines, each event exactly as the
// daemon hands it to a plugin, and optionally the entities those events name, as they are now,
// so a test can seed a sandbox with what the event saw (docs/testing-plugins.md).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cli/commands.h"
#include "cli/site_flags.h"
#include "sgeventd/json.h"
#include "source/sg_event_log_reader.h"

namespace sgeventd::cli {
namespace {

struct RecordOptions {
  SiteFlags site;
  std::string out;
  std::int64_t from = 0;
  std::int64_t to = 0;
  std::string since;
  int last = 0;
  int limit = 10000;
  std::vector<std::string> filters;
  bool with_entities = false;
};

struct Usage {
  std::string message;
};

// "90s", "30m", "1h", "2d", "1w" back from now, or an ISO 8601 time ("2026-12-01T09:00:00Z").
::sgeventd::Expected<DateTime, Usage> since_time(const std::string& text) {
  if (text.size() >= 2) {
    const char unit = text.back();
    const std::string number = text.substr(0, text.size() - 1);
    const long long per = unit == 's'   ? 1
                          : unit == 'm' ? 60
                          : unit == 'h' ? 3600
                          : unit == 'd' ? 86400
                          : unit == 'w' ? 604800
                                        : 0;
    if (per > 0 && !number.empty() &&
        std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      const auto back = std::chrono::seconds(std::stoll(number) * per);
      const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      return DateTime{now - back, 0};
    }
  }
  auto parsed = parse_json("\"" + text + "\"", {.datetimes = true});
  if (parsed && parsed->is_datetime()) return parsed->as_datetime();
  return tl::unexpected(
      Usage{"--since: expected a duration (90s, 30m, 1h, 2d, 1w) or an ISO "
            "8601 time (2026-12-01T09:00:00Z), got '" +
            text + "'"});
}

// --filter FIELD=VALUE[,VALUE...]: a condition on EventLogEntry. event_type and the other text
// fields compare as text (several values: in); entity_type=Shot is the linked entity's type;
// project, entity and user take ids (Type:ID for entity and user).
::sgeventd::Expected<Value, Usage> filter_condition(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    return tl::unexpected(Usage{"--filter: expected FIELD=VALUE, got '" + text + "'"});
  }
  const std::string field = text.substr(0, eq);
  std::vector<std::string> values;
  std::string rest = text.substr(eq + 1);
  for (std::size_t start = 0;;) {
    const auto comma = rest.find(',', start);
    values.push_back(rest.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const auto as_id = [&](const std::string& v) -> ::sgeventd::Expected<long long, Usage> {
    if (!v.empty() &&
        std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::stoll(v);
    }
    return tl::unexpected(Usage{"--filter " + field + ": expected an id, got '" + v + "'"});
  };
  List any;
  for (const auto& v : values) {
    if (field == "entity_type") {
      any.push_back(List{"entity", "type_is", v});
    } else if (field == "project") {
      auto id = as_id(v);
      if (!id) return tl::unexpected(id.error());
      any.push_back(List{"project", "is", Dict{{"type", "Project"}, {"id", *id}}});
    } else if (field == "entity" || field == "user") {
      const auto colon = v.find(':');
      auto id = as_id(colon == std::string::npos ? std::string() : v.substr(colon + 1));
      if (colon == std::string::npos || colon == 0 || !id) {
        return tl::unexpected(Usage{"--filter " + field + ": expected Type:ID, got '" + v + "'"});
      }
      any.push_back(List{field, "is", Dict{{"type", v.substr(0, colon)}, {"id", *id}}});
    } else if (field == "event_type" || field == "attribute_name" || field == "session_uuid") {
      any.push_back(List{field, "is", v});
    } else {
      return tl::unexpected(Usage{"--filter: unknown field '" + field +
                                  "' (event_type, attribute_name, session_uuid, entity_type, "
                                  "project, entity, user)"});
    }
  }
  if (any.size() == 1) return any.front();
  return Dict{{"filter_operator", "any"}, {"filters", std::move(any)}};
}

// The entities the events name (and, one hop on, the single links of those: a Task's Shot and
// Step), as they are now. Multi-entity links are not followed: a Project's users can be
// thousands. Returns how many named entities were not found (retired since, or not readable).
sg::Result<std::size_t> snapshot_entities(sg::Client& sg, const List& events, List& out) {
  std::map<std::string, std::set<std::int64_t>> wanted;
  const auto want = [&](const Value& link) {
    const std::string* type = link["type"].if_string();
    if (type && link["id"].is_int() && *type != "EventLogEntry") {
      wanted[*type].insert(link["id"].as_int());
    }
  };
  for (const Value& e : events) {
    want(e["entity"]);
    want(e["project"]);
  }
  std::map<std::string, std::set<std::int64_t>> done;
  std::size_t missing = 0;
  std::map<std::string, std::vector<std::string>> fields_of;
  for (int hop = 0; hop < 2 && !wanted.empty(); ++hop) {
    std::map<std::string, std::set<std::int64_t>> next;
    for (const auto& [type, ids] : wanted) {
      if (!fields_of.count(type)) {
        auto schema = sg.schema_field_read(type);
        if (!schema) return tl::unexpected(schema.error());
        std::vector<std::string> names;
        if (const Dict* d = schema->if_dict()) {
          for (const auto& [name, def] : *d) names.push_back(name);
        }
        fields_of[type] = std::move(names);
      }
      List id_list;
      for (auto id : ids) {
        if (done[type].insert(id).second) id_list.emplace_back(static_cast<long long>(id));
      }
      if (id_list.empty()) continue;
      const std::size_t asked = id_list.size();
      sg::FindOptions find;
      find.fields = fields_of[type];
      find.order = List{Dict{{"field_name", "id"}, {"direction", "asc"}}};
      auto found = sg.find(type, List{List{"id", "in", std::move(id_list)}}, find);
      if (!found) return tl::unexpected(found.error());
      missing += asked - std::min(asked, found->size());
      for (Value& entity : *found) {
        if (hop == 0) {
          for (const auto& [name, value] : entity.as_dict()) {
            const std::string* linked = value["type"].if_string();
            if (linked && value["id"].is_int() && name != "created_by" && name != "updated_by" &&
                *linked != "HumanUser" && *linked != "ApiUser") {
              next[*linked].insert(value["id"].as_int());
            }
          }
        }
        out.push_back(std::move(entity));
      }
    }
    wanted = std::move(next);
  }
  return missing;
}

int run_record(const RecordOptions& o) {
  const auto fail = [](int code, const std::string& message) {
    std::cerr << "sgeventd record: " << message << "\n";
    return code;
  };
  List conditions;
  if (o.from > 0)
    conditions.push_back(List{"id", "greater_than", static_cast<long long>(o.from - 1)});
  if (o.to > 0) conditions.push_back(List{"id", "less_than", static_cast<long long>(o.to + 1)});
  if (!o.since.empty()) {
    auto since = since_time(o.since);
    if (!since) return fail(kExitUsage, since.error().message);
    conditions.push_back(List{"created_at", "greater_than", *since});
  }
  for (const auto& f : o.filters) {
    auto condition = filter_condition(f);
    if (!condition) return fail(kExitUsage, condition.error().message);
    conditions.push_back(std::move(*condition));
  }
  auto client = connect_site(o.site);
  if (!client) return fail(client.error().exit_code, client.error().message);
  // Without a start, the newest events: asked for newest first, written oldest first.
  const bool newest = o.from == 0 && o.since.empty();
  sg::FindOptions find;
  find.fields = source::event_fields();
  find.order = List{Dict{{"field_name", "id"}, {"direction", newest ? "desc" : "asc"}}};
  const int cap = newest ? (o.last > 0 ? o.last : 100) : o.limit;
  find.limit = cap + 1;  // one more than written: tells "more remain" from "that was all"
  auto events = client->find("EventLogEntry", conditions, find);
  if (!events) return fail(kExitFailure, "reading the event log: " + events.error().describe());
  const bool more = events->size() > static_cast<std::size_t>(cap);
  if (more) events->resize(static_cast<std::size_t>(cap));
  if (newest) std::reverse(events->begin(), events->end());

  List entities;
  std::size_t missing = 0;
  if (o.with_entities) {
    auto snapshot = snapshot_entities(*client, *events, entities);
    if (!snapshot)
      return fail(kExitFailure, "reading the entities: " + snapshot.error().describe());
    missing = *snapshot;
  }

  std::ofstream file;
  if (o.out != "-") {
    file.open(o.out, std::ios::binary | std::ios::trunc);
    if (!file) return fail(kExitFailure, "cannot write " + o.out);
  }
  std::ostream& out = o.out == "-" ? std::cout : file;
  for (const Value& e : *events) out << to_json(e, {.style = JsonStyle::Compact}) << "\n";
  for (const Value& e : entities) out << to_json(e, {.style = JsonStyle::Compact}) << "\n";
  out.flush();
  if (!out) return fail(kExitFailure, "writing " + o.out + " failed");

  std::cerr << "sgeventd record: " << events->size() << " event(s)";
  if (!events->empty()) {
    std::cerr << " (ids " << to_json(events->front()["id"]) << " to "
              << to_json(events->back()["id"]) << ")";
  }
  if (o.with_entities) {
    std::cerr << " and " << entities.size() << " entit" << (entities.size() == 1 ? "y" : "ies");
    if (missing > 0) std::cerr << " (" << missing << " named entities not found: retired since?)";
  }
  std::cerr << (o.out == "-" ? "" : " to " + o.out);
  if (more) {
    std::cerr << "; more match: " << (newest ? "raise --last" : "raise --limit or narrow it");
  }
  std::cerr << "\n";
  return kExitOk;
}

}  // namespace

void add_record_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<RecordOptions>();
  auto* sub = app.add_subcommand(
      "record",
      "Read events from a site (read-only) into JSON lines, one event per line exactly as a "
      "plugin receives it; with --with-entities, then the entities they name as they are now "
      "(docs/testing-plugins.md).");
  sub->add_option("--out", o->out, "file to write, or - for stdout")->required();
  auto* from =
      sub->add_option("--from", o->from, "the first event id to read")->check(CLI::PositiveNumber);
  sub->add_option("--to", o->to, "the last event id to read")->check(CLI::PositiveNumber);
  auto* since = sub->add_option("--since", o->since,
                                "events newer than this: 90s, 30m, 1h, 2d, 1w or an ISO time");
  auto* last = sub->add_option("--last", o->last,
                               "the newest N events (what is read without --from or --since; "
                               "default 100)")
                   ->check(CLI::Range(1, 100000));
  sub->add_option("--limit", o->limit, "with --from or --since: at most N events")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--filter", o->filters,
                  "FIELD=VALUE[,VALUE...], repeatable (all must hold): event_type, "
                  "attribute_name, session_uuid, entity_type, project (id), entity or user "
                  "(Type:ID)");
  sub->add_flag("--with-entities", o->with_entities,
                "also write the entities the events name (their entity and project, and one "
                "hop of single links), every field, as they are now");
  from->excludes(since);
  last->excludes(from)->excludes(since);
  add_site_flags(*sub, o->site, /*writes=*/false);
  sub->footer(std::string("Examples:\n"
                          "  sgeventd record -c shotgunEventDaemon.conf --since 1h \\\n"
                          "      --filter event_type=Shotgun_Task_Change --out tasks.jsonl\n"
                          "  sgeventd record --from 81230 --to 81260 --with-entities --out "
                          "case.jsonl\n") +
              kSiteFlagsFooter +
              "\nExit status: 0 ok, 1 the site or the file failed, 2 bad "
              "arguments.");
  sub->callback([&run, o] { run = [o] { return run_record(*o); }; });
}

}  // namespace sgeventd::cli
