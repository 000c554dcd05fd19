// `sgeventd api`: one api3 call from the command line, printed as JSON. Arguments are JSON the
// way the Python methods take them, so a call reads like its shotgun_api3 twin:
//   sgeventd api find Shot '[["code","is","x"]]' --fields code,id --limit 5

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/site_flags.h"
#include "sgeventd/json.h"
#include "sgeventd/sg/client.h"

namespace sgeventd::cli {
namespace {

struct ApiOptions {
  SiteFlags site;

  std::string method;
  std::vector<std::string> args;
  std::vector<std::string> fields;
  std::string order;
  std::string filter_operator;
  int limit = 0;
  int page = 0;
  bool retired_only = false;
  bool no_archived_projects = false;
  std::string filter_presets;
  std::vector<std::string> return_fields;
  std::string modes;
  std::string grouping;
  std::string project;
  std::string project_ids;
  bool compact = false;
};

// A usage problem (exit 2) or a failed call (exit 1), with the message to print.
struct Failure {
  int code;
  std::string message;
};

template <typename T>
using Outcome = ::sgeventd::Expected<T, Failure>;

Failure usage(std::string message) { return Failure{kExitUsage, std::move(message)}; }

std::string join(const std::vector<std::string>& words, const std::string& between) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : between) + w;
  return out;
}

Outcome<Value> json_arg(const std::string& text, const char* what) {
  auto v = parse_json(text, {.datetimes = true});
  if (!v)
    return tl::unexpected(usage(std::string(what) + " is not valid JSON: " + v.error().message));
  return std::move(*v);
}

Outcome<List> list_arg(const std::string& text, const char* what) {
  auto v = json_arg(text, what);
  if (!v) return tl::unexpected(v.error());
  if (!v->is_list()) return tl::unexpected(usage(std::string(what) + " must be a JSON list"));
  return std::move(v->as_list());
}

Outcome<Dict> dict_arg(const std::string& text, const char* what) {
  auto v = json_arg(text, what);
  if (!v) return tl::unexpected(v.error());
  if (!v->is_dict()) return tl::unexpected(usage(std::string(what) + " must be a JSON object"));
  return std::move(v->as_dict());
}

Outcome<std::int64_t> id_arg(const std::string& text) {
  try {
    std::size_t used = 0;
    const long long id = std::stoll(text, &used);
    if (used == text.size()) return id;
  } catch (const std::exception&) {
  }
  return tl::unexpected(usage("entity id must be an integer, got '" + text + "'"));
}

Outcome<sg::FindOptions> find_options(const ApiOptions& o) {
  sg::FindOptions f;
  f.fields = o.fields;
  f.filter_operator = o.filter_operator;
  f.limit = o.limit;
  f.page = o.page;
  f.retired_only = o.retired_only;
  f.include_archived_projects = !o.no_archived_projects;
  if (!o.order.empty()) {
    auto order = list_arg(o.order, "--order");
    if (!order) return tl::unexpected(order.error());
    f.order = std::move(*order);
  }
  if (!o.filter_presets.empty()) {
    auto presets = list_arg(o.filter_presets, "--filter-presets");
    if (!presets) return tl::unexpected(presets.error());
    f.additional_filter_presets = std::move(*presets);
  }
  return f;
}

Outcome<void> need_args(const ApiOptions& o, std::size_t min, std::size_t max,
                        const char* usage_text) {
  if (o.args.size() < min || o.args.size() > max) {
    return tl::unexpected(usage("usage: sgeventd api " + o.method + " " + usage_text));
  }
  return {};
}

template <typename T>
Outcome<Value> done(sg::Result<T> r) {
  if (!r) return tl::unexpected(Failure{kExitFailure, r.error().describe()});
  if constexpr (std::is_void_v<T>) {
    return Value();
  } else {
    return Value(std::move(*r));
  }
}

// The optional JSON argument at index i, or null.
Outcome<Value> optional_json(const ApiOptions& o, std::size_t i, const char* what) {
  if (o.args.size() <= i) return Value();
  return json_arg(o.args[i], what);
}

Outcome<Value> dispatch(sg::Client& sg, const ApiOptions& o) {
  const std::string& m = o.method;
  const auto& a = o.args;
  if (m == "info") {
    if (auto ok = need_args(o, 0, 0, ""); !ok) return tl::unexpected(ok.error());
    return done(sg.info());
  }
  if (m == "find" || m == "find_one") {
    if (auto ok = need_args(o, 1, 2, "<type> ['<filters json>']"); !ok) {
      return tl::unexpected(ok.error());
    }
    Value filters = List{};
    if (a.size() > 1) {
      auto f = json_arg(a[1], "filters");
      if (!f) return tl::unexpected(f.error());
      filters = std::move(*f);
    }
    auto options = find_options(o);
    if (!options) return tl::unexpected(options.error());
    if (m == "find") return done(sg.find(a[0], filters, *options));
    return done(sg.find_one(a[0], filters, *options));
  }
  if (m == "create") {
    if (auto ok = need_args(o, 2, 2, "<type> '<data json>' [--return-fields a,b]"); !ok) {
      return tl::unexpected(ok.error());
    }
    auto data = dict_arg(a[1], "data");
    if (!data) return tl::unexpected(data.error());
    return done(sg.create(a[0], *data, o.return_fields));
  }
  if (m == "update") {
    if (auto ok = need_args(o, 3, 3, "<type> <id> '<data json>' [--modes '{...}']"); !ok) {
      return tl::unexpected(ok.error());
    }
    auto id = id_arg(a[1]);
    if (!id) return tl::unexpected(id.error());
    auto data = dict_arg(a[2], "data");
    if (!data) return tl::unexpected(data.error());
    Dict modes;
    if (!o.modes.empty()) {
      auto parsed = dict_arg(o.modes, "--modes");
      if (!parsed) return tl::unexpected(parsed.error());
      modes = std::move(*parsed);
    }
    return done(sg.update(a[0], *id, *data, modes));
  }
  if (m == "delete" || m == "revive") {
    if (auto ok = need_args(o, 2, 2, "<type> <id>"); !ok) return tl::unexpected(ok.error());
    auto id = id_arg(a[1]);
    if (!id) return tl::unexpected(id.error());
    return done(m == "delete" ? sg.delete_entity(a[0], *id) : sg.revive(a[0], *id));
  }
  if (m == "batch") {
    if (auto ok = need_args(o, 1, 1, "'<requests json>'"); !ok) return tl::unexpected(ok.error());
    auto requests = list_arg(a[0], "requests");
    if (!requests) return tl::unexpected(requests.error());
    return done(sg.batch(*requests));
  }
  if (m == "summarize") {
    if (auto ok = need_args(o, 3, 3, "<type> '<filters json>' '<summary fields json>'"); !ok) {
      return tl::unexpected(ok.error());
    }
    auto filters = json_arg(a[1], "filters");
    if (!filters) return tl::unexpected(filters.error());
    auto summaries = list_arg(a[2], "summary fields");
    if (!summaries) return tl::unexpected(summaries.error());
    sg::SummarizeOptions options;
    options.filter_operator = o.filter_operator;
    options.include_archived_projects = !o.no_archived_projects;
    if (!o.grouping.empty()) {
      auto grouping = list_arg(o.grouping, "--grouping");
      if (!grouping) return tl::unexpected(grouping.error());
      options.grouping = std::move(*grouping);
    }
    return done(sg.summarize(a[0], *filters, *summaries, options));
  }
  if (m == "schema_read" || m == "schema_entity_read") {
    if (auto ok = need_args(o, 0, 1, "['<project json>']"); !ok) return tl::unexpected(ok.error());
    auto project = optional_json(o, 0, "project");
    if (!project) return tl::unexpected(project.error());
    return done(m == "schema_read" ? sg.schema_read(*project) : sg.schema_entity_read(*project));
  }
  if (m == "schema_field_read") {
    if (auto ok = need_args(o, 1, 2, "<type> [field] [--project '<json>']"); !ok) {
      return tl::unexpected(ok.error());
    }
    Value project;
    if (!o.project.empty()) {
      auto p = json_arg(o.project, "--project");
      if (!p) return tl::unexpected(p.error());
      project = std::move(*p);
    }
    return done(sg.schema_field_read(a[0], a.size() > 1 ? a[1] : "", project));
  }
  if (m == "text_search") {
    if (auto ok = need_args(o, 2, 2, "<text> '<entity types json>' [--project-ids '[1]']"); !ok) {
      return tl::unexpected(ok.error());
    }
    auto types = dict_arg(a[1], "entity types");
    if (!types) return tl::unexpected(types.error());
    List project_ids;
    if (!o.project_ids.empty()) {
      auto ids = list_arg(o.project_ids, "--project-ids");
      if (!ids) return tl::unexpected(ids.error());
      project_ids = std::move(*ids);
    }
    return done(sg.text_search(a[0], *types, project_ids,
                               o.limit ? std::optional<int>(o.limit) : std::nullopt));
  }
  // Any other api3 method: params[1] as given.
  if (auto ok = need_args(o, 0, 1, "['<params json>']"); !ok) return tl::unexpected(ok.error());
  auto params = optional_json(o, 0, "params");
  if (!params) return tl::unexpected(params.error());
  return done(sg.call(m, *params));
}

int run_api(const ApiOptions& o) {
  const auto fail = [](const Failure& f) {
    std::cerr << "sgeventd api: " << f.message << "\n";
    return f.code;
  };
  auto client = connect_site(o.site);
  if (!client) return fail(Failure{client.error().exit_code, client.error().message});
  auto result = dispatch(*client, o);
  if (!result) return fail(result.error());
  std::cout << to_json(*result, {.style = o.compact ? JsonStyle::Compact : JsonStyle::Pretty})
            << "\n";
  return kExitOk;
}

}  // namespace

void add_api_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<ApiOptions>();
  auto* sub = app.add_subcommand(
      "api",
      "Send one api3 call to a ShotGrid site and print the result as JSON.\n"
      "Methods: info, find, find_one, create, update, delete, revive, batch, summarize,\n"
      "schema_read, schema_field_read, schema_entity_read, text_search; any other name is sent\n"
      "as a raw api3 method with the JSON params given.");
  sub->footer(
      "Usage: sgeventd api [options] <method> [arguments...]\n"
      "Examples:\n"
      "  sgeventd api --server https://studio.shotgrid.autodesk.com --script-name s \\\n"
      "      --script-key k find Shot '[[\"code\",\"is\",\"x\"]]' --fields code,id --limit 5\n"
      "  sgeventd api -c shotgunEventDaemon.conf find_one EventLogEntry '[]' \\\n"
      "      --order '[{\"field_name\":\"id\",\"direction\":\"desc\"}]'\n"
      "  sgeventd api update Shot 12 '{\"sg_status_list\":\"ip\"}'\n" +
      std::string(kSiteFlagsFooter) + "\nExit status: 0 ok, 1 the call failed, 2 bad arguments.");
  add_site_flags(*sub, o->site, /*writes=*/true);
  // The method and its arguments are collected raw: a CLI11 vector option would split a
  // "[...]" argument at its commas.
  sub->allow_extras();
  // Options that belong to some methods only: given to another, they are an error rather
  // than silently ignored (`create ... --fields` would return the default fields).
  struct MethodOption {
    CLI::Option* option;
    std::vector<std::string> methods;
  };
  auto only = std::make_shared<std::vector<MethodOption>>();
  const auto for_methods = [&only](CLI::Option* option, std::vector<std::string> methods) {
    only->push_back({option, std::move(methods)});
  };
  for_methods(
      sub->add_option("--fields", o->fields, "find, find_one: fields to return")->delimiter(','),
      {"find", "find_one"});
  for_methods(sub->add_option("--order", o->order,
                              "find, find_one: JSON list of {field_name, "
                              "direction}"),
              {"find", "find_one"});
  for_methods(
      sub->add_option("--filter-operator", o->filter_operator, "find, summarize: all or any"),
      {"find", "find_one", "summarize"});
  for_methods(sub->add_option("--limit", o->limit, "find, text_search: at most N results"),
              {"find", "text_search"});
  for_methods(sub->add_option("--page", o->page, "find: only page N"), {"find"});
  for_methods(sub->add_flag("--retired-only", o->retired_only, "find: retired entities only"),
              {"find", "find_one"});
  for_methods(sub->add_flag("--no-archived-projects", o->no_archived_projects,
                            "find, summarize: leave out archived projects"),
              {"find", "find_one", "summarize"});
  for_methods(sub->add_option("--filter-presets", o->filter_presets,
                              "find: additional_filter_presets JSON"),
              {"find", "find_one"});
  for_methods(sub->add_option("--return-fields", o->return_fields, "create: fields to return")
                  ->delimiter(','),
              {"create"});
  for_methods(sub->add_option("--modes", o->modes, "update: multi_entity_update_modes JSON"),
              {"update"});
  for_methods(sub->add_option("--grouping", o->grouping, "summarize: grouping JSON"),
              {"summarize"});
  for_methods(sub->add_option("--project", o->project, "schema_field_read: project entity JSON"),
              {"schema_field_read"});
  for_methods(
      sub->add_option("--project-ids", o->project_ids, "text_search: JSON list of project ids"),
      {"text_search"});
  sub->add_flag("--compact", o->compact, "print the result on one line");
  sub->callback([o, sub, only, &run] {
    std::vector<std::string> rest = sub->remaining();
    for (const auto& word : rest) {
      if (word.rfind("--", 0) == 0) {
        run = [word] {
          std::cerr << "sgeventd api: unknown option " << word << " (see --help)\n";
          return kExitUsage;
        };
        return;
      }
    }
    if (rest.empty()) {
      run = [] {
        std::cerr << "sgeventd api: which method? e.g. 'sgeventd api info' (see --help)\n";
        return kExitUsage;
      };
      return;
    }
    o->method = rest.front();
    o->args.assign(rest.begin() + 1, rest.end());
    for (const MethodOption& m : *only) {
      if (m.option->count() == 0 ||
          std::find(m.methods.begin(), m.methods.end(), o->method) != m.methods.end()) {
        continue;
      }
      std::string message = m.option->get_name() + " means nothing for " + o->method +
                            " (it is for " + join(m.methods, ", ") + ")";
      if (m.option->get_name() == "--fields" && o->method == "create") {
        message += "; create returns the fields named by --return-fields";
      }
      run = [message] {
        std::cerr << "sgeventd api: " << message << "\n";
        return kExitUsage;
      };
      return;
    }
    run = [o] { return run_api(*o); };
  });
}

}  // namespace sgeventd::cli
