#include "sandbox/query.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "sandbox/field_values.h"
#include "sgeventd/json.h"

namespace sgeventd::sandbox {
namespace {

struct SortKey {
  FieldPath path;
  bool descending = false;
};

Expected<std::vector<SortKey>> sort_keys(const Schema& schema, const std::string& type,
                                         const Value& sorts) {
  std::vector<SortKey> keys;
  if (sorts.is_null()) return keys;
  const List* list = sorts.if_list();
  if (!list) return fault("API read() sorts must be a list");
  for (const Value& s : *list) {
    const Value& name = s["field_name"].is_null() ? s["column"] : s["field_name"];
    if (!name.is_string()) return fault("API read() each sort needs a field_name");
    auto path = resolve_path(schema, type, name.as_string());
    if (!path) return tl::unexpected(path.error());
    const std::string* dir = s["direction"].if_string();
    if (dir && *dir != "asc" && *dir != "desc") {
      return fault("API read() sort direction must be 'asc' or 'desc', got '" + *dir + "'");
    }
    keys.push_back(SortKey{std::move(*path), dir && *dir == "desc"});
  }
  return keys;
}

// Sorting compares the first value at the end of each path; ties go by id ascending.
template <typename Row>
void sort_rows(std::vector<Row>& rows, const std::vector<SortKey>& keys, const Store& store,
               auto&& view_of) {
  std::vector<std::pair<std::vector<Value>, Row>> keyed;
  keyed.reserve(rows.size());
  for (const Row& r : rows) {
    std::vector<Value> k;
    const auto& view = view_of(r);
    for (const SortKey& key : keys) k.push_back(path_values(key.path, view, store)[0]);
    keyed.emplace_back(std::move(k), r);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      int c = compare_values(a.first[i], b.first[i], store);
      if (c != 0) return keys[i].descending ? c > 0 : c < 0;
    }
    return false;
  });
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = keyed[i].second;
}

void append_field(std::string& out, const Store& store, const RowView& row, const FieldPath& p) {
  if (p.hop_field) {
    const Value v = path_values(p, row, store)[0];
    append_json(out, output_value(*p.hop_field, v, store), kCompactJson);
    return;
  }
  if (row.append_read_json(p.field->name, out, store)) return;
  append_json(out, output_value(*p.field, row.get(p.field->name), store), kCompactJson);
}

}  // namespace

std::vector<FieldPath> return_paths(const Schema& schema, const std::string& type,
                                    const Value& return_fields) {
  std::vector<FieldPath> paths;
  const List* list = return_fields.if_list();
  if (!list) return paths;
  for (const Value& f : *list) {
    const std::string* name = f.if_string();
    if (!name || *name == "type" || *name == "id") continue;
    if (std::any_of(paths.begin(), paths.end(),
                    [&](const FieldPath& p) { return p.text == *name; })) {
      continue;
    }
    if (auto p = resolve_path(schema, type, *name)) paths.push_back(std::move(*p));
  }
  return paths;
}

void append_row_json(std::string& out, const Store& store, const RowView& row,
                     const std::vector<FieldPath>& fields) {
  out += "{\"type\":";
  append_json(out, Value(row.type()), kCompactJson);
  out += ",\"id\":";
  out += std::to_string(row.id());
  for (const FieldPath& p : fields) {
    out += ',';
    append_json(out, Value(p.text), kCompactJson);
    out += ':';
    append_field(out, store, row, p);
  }
  out += '}';
}

Dict render_row(const Store& store, const RowView& row, const std::vector<FieldPath>& fields) {
  std::string json;
  append_row_json(json, store, row, fields);
  auto parsed = parse_json(json, {.datetimes = true});
  return parsed && parsed->is_dict() ? std::move(parsed->as_dict()) : Dict{};
}

Expected<std::string> read_json(const Store& store, const Dict& params, int max_page_size,
                                std::chrono::sys_seconds now) {
  const std::string* type = params.get("type").if_string();
  if (!type) return fault("API read() requires a type");
  if (auto e = store.schema().require_entity(*type); !e) return tl::unexpected(e.error());
  auto filter = compile_filter(store.schema(), *type, params.get("filters"));
  if (!filter) return tl::unexpected(filter.error());
  auto keys = sort_keys(store.schema(), *type, params.get("sorts"));
  if (!keys) return tl::unexpected(keys.error());
  const std::vector<FieldPath> fields = return_paths(
      store.schema(), *type,
      params.contains("return_fields") ? params.get("return_fields") : Value(List{"id"}));

  const std::string* return_only = params.get("return_only").if_string();
  if (return_only && *return_only != "active" && *return_only != "retired") {
    return fault("API read() return_only must be 'active' or 'retired'");
  }
  const bool retired = return_only && *return_only == "retired";

  std::int64_t per_page = max_page_size;
  std::int64_t page = 1;
  const Value& paging = params.get("paging");
  if (auto n = paging["entities_per_page"].if_int(); n && *n > 0) per_page = *n;
  per_page = std::min<std::int64_t>(per_page, max_page_size);
  if (auto p = paging["current_page"].if_int(); p && *p > 0) page = *p;
  const bool want_count = params.get("return_paging_info").truthy();
  const std::int64_t offset = per_page * (page - 1);

  const FilterContext ctx{now};
  std::int64_t matched = 0;
  bool has_next = false;
  // One buffer for the whole answer, with the api3 envelope around it (no copies later).
  std::string entities = "{\"results\":{\"entities\":[";
  const std::size_t empty_size = entities.size();
  entities.reserve(static_cast<std::size_t>(std::min<std::int64_t>(per_page, 1000)) *
                   (64 + 48 * fields.size()));
  auto emit = [&](const RowView& row) {
    if (matched >= offset && matched < offset + per_page) {
      if (entities.size() != empty_size) entities += ',';
      append_row_json(entities, store, row, fields);
    } else if (matched >= offset + per_page) {
      has_next = true;
    }
    ++matched;
  };
  // Rows come in id order unless sorted otherwise; in id order we can stop early.
  const bool id_order = keys->empty() || (keys->size() == 1 && !(*keys)[0].path.hop_field &&
                                          (*keys)[0].path.field->name == "id");
  const bool descending = id_order && !keys->empty() && (*keys)[0].descending;
  auto done = [&] { return id_order && !want_count && has_next; };

  if (*type == "EventLogEntry") {
    const EventLog& log = store.events();
    if (!retired) {
      const IdRange range = id_range(*filter);
      const auto& recs = log.records();
      const std::size_t begin = log.lower_bound(range.low);
      const std::size_t end = range.high == std::numeric_limits<std::int64_t>::max()
                                  ? recs.size()
                                  : log.lower_bound(range.high + 1);
      auto visit = [&](std::size_t i) {
        EventView view(recs[i], log.pool());
        if (matches(*filter, view, store, ctx)) emit(view);
      };
      if (id_order) {
        if (descending) {
          for (std::size_t i = end; i > begin && !done(); --i) visit(i - 1);
        } else {
          for (std::size_t i = begin; i < end && !done(); ++i) visit(i);
        }
      } else {
        std::vector<const EventRecord*> rows;
        for (std::size_t i = begin; i < end; ++i) {
          EventView view(recs[i], log.pool());
          if (matches(*filter, view, store, ctx)) rows.push_back(&recs[i]);
        }
        auto view_of = [&](const EventRecord* r) { return EventView(*r, log.pool()); };
        sort_rows(rows, *keys, store, view_of);
        for (const EventRecord* r : rows) emit(EventView(*r, log.pool()));
      }
    }
  } else {
    const auto& table = store.tables().find(*type)->second.rows;
    std::vector<const Entity*> rows;
    auto consider = [&](const Entity& e) {
      if (e.retired != retired || !matches(*filter, e, store, ctx)) return;
      if (id_order) {
        emit(e);
      } else {
        rows.push_back(&e);
      }
    };
    if (descending) {
      for (auto it = table.rbegin(); it != table.rend() && !done(); ++it) consider(it->second);
    } else {
      for (auto it = table.begin(); it != table.end() && !done(); ++it) consider(it->second);
    }
    if (!id_order) {
      sort_rows(rows, *keys, store, [](const Entity* e) -> const Entity& { return *e; });
      for (const Entity* e : rows) emit(*e);
    }
  }

  std::string& out = entities;
  out += "],\"paging_info\":{\"has_next_page\":";
  out += has_next ? "true" : "false";
  if (want_count) out += ",\"entity_count\":" + std::to_string(matched);
  out += "}}}";
  return std::move(out);
}

// ---- summarize ----------------------------------------------------------------------

namespace {

struct SummaryField {
  FieldPath path;
  std::string field;
  std::string kind;
};

Expected<Value> summary_of(const SummaryField& s, const std::vector<const RowView*>& rows,
                           const Store& store) {
  const std::string& k = s.kind;
  if (k == "record_count") return Value(static_cast<long long>(rows.size()));
  std::vector<Value> values;
  for (const RowView* r : rows) {
    Value v = path_values(s.path, *r, store)[0];
    const bool empty = v.is_null() || (v.is_list() && v.as_list().empty()) ||
                       (v.is_string() && v.as_string().empty());
    if (!empty) values.push_back(std::move(v));
  }
  if (k == "count") return Value(static_cast<long long>(values.size()));
  if (k == "checked" || k == "unchecked") {
    long long n = 0;
    for (const Value& v : values) n += v.is_bool() && v.as_bool() == (k == "checked");
    if (k == "unchecked")
      n = static_cast<long long>(rows.size()) - (static_cast<long long>(values.size()) - n);
    return Value(n);
  }
  if (k == "sum" || k == "average") {
    bool all_int = true;
    double sum = 0;
    long long isum = 0;
    for (const Value& v : values) {
      if (v.is_int()) {
        isum += v.as_int();
        sum += static_cast<double>(v.as_int());
      } else if (v.is_float()) {
        all_int = false;
        sum += v.as_float();
      } else {
        return fault("summarize: " + k + " needs a numeric field, " + s.field + " is not");
      }
    }
    if (k == "sum") return all_int ? Value(isum) : Value(sum);
    if (values.empty()) return Value();
    return Value(sum / static_cast<double>(values.size()));
  }
  if (k == "minimum" || k == "maximum" || k == "earliest" || k == "latest") {
    const bool want_min = k == "minimum" || k == "earliest";
    const Value* best = nullptr;
    for (const Value& v : values) {
      if (!best) {
        best = &v;
        continue;
      }
      const int c = compare_values(v, *best, store);
      if (want_min ? c < 0 : c > 0) best = &v;
    }
    return best ? output_value(s.path.target(), *best, store) : Value();
  }
  return fault("summarize: summary type '" + k + "' is not supported by the sandbox");
}

Expected<Dict> summaries_of(const std::vector<SummaryField>& fields,
                            const std::vector<const RowView*>& rows, const Store& store) {
  Dict out;
  for (const SummaryField& s : fields) {
    auto v = summary_of(s, rows, store);
    if (!v) return tl::unexpected(v.error());
    out.set(s.field, std::move(*v));
  }
  return out;
}

struct Grouping {
  FieldPath path;
  std::string kind;
  bool descending = false;
};

// The group a value falls in: {name, value}.
Expected<std::pair<std::string, Value>> group_of(const Grouping& g, const Value& v,
                                                 const Store& store) {
  const std::string& k = g.kind;
  if (v.is_null() || (v.is_list() && v.as_list().empty()))
    return std::make_pair(std::string(), Value());
  if (k == "exact") {
    Value out = output_value(g.path.target(), v, store);
    if (out.is_entity()) return std::make_pair(out["name"].as_string(), out);
    if (out.is_string()) return std::make_pair(out.as_string(), out);
    return std::make_pair(to_json(out, kCompactJson), out);
  }
  if (k == "entitytype") {
    if (!v.is_entity()) return fault("summarize: entitytype grouping needs an entity field");
    return std::make_pair(v["type"].as_string(), v["type"]);
  }
  if (k == "firstletter") {
    if (!v.is_string() || v.as_string().empty()) return std::make_pair(std::string(), Value());
    std::string letter(
        1, static_cast<char>(std::toupper(static_cast<unsigned char>(v.as_string()[0]))));
    return std::make_pair(letter, Value(letter));
  }
  if (k == "day" || k == "month" || k == "year") {
    std::string date;
    if (v.is_datetime())
      date = v.as_datetime().to_wire().substr(0, 10);
    else if (v.is_date())
      date = v.as_date().to_string();
    else
      return fault("summarize: " + k + " grouping needs a date or date_time field");
    date = date.substr(0, k == "day" ? 10 : (k == "month" ? 7 : 4));
    return std::make_pair(date, Value(date));
  }
  return fault("summarize: grouping type '" + k + "' is not supported by the sandbox");
}

Expected<List> groups_of(const std::vector<Grouping>& groupings, std::size_t level,
                         const std::vector<SummaryField>& fields,
                         const std::vector<const RowView*>& rows, const Store& store) {
  const Grouping& g = groupings[level];
  std::vector<std::pair<std::string, Value>> keys;
  std::vector<std::vector<const RowView*>> members;
  for (const RowView* r : rows) {
    auto key = group_of(g, path_values(g.path, *r, store)[0], store);
    if (!key) return tl::unexpected(key.error());
    auto it = std::find_if(keys.begin(), keys.end(),
                           [&](const auto& k) { return k.second == key->second; });
    if (it == keys.end()) {
      keys.push_back(std::move(*key));
      members.emplace_back();
      it = keys.end() - 1;
    }
    members[static_cast<std::size_t>(it - keys.begin())].push_back(r);
  }
  std::vector<std::size_t> order(keys.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const int c = compare_values(Value(keys[a].first), Value(keys[b].first), store);
    return g.descending ? c > 0 : c < 0;
  });
  List out;
  for (std::size_t i : order) {
    auto sums = summaries_of(fields, members[i], store);
    if (!sums) return tl::unexpected(sums.error());
    Dict group{{"group_name", keys[i].first},
               {"group_value", keys[i].second},
               {"summaries", std::move(*sums)}};
    if (level + 1 < groupings.size()) {
      auto sub = groups_of(groupings, level + 1, fields, members[i], store);
      if (!sub) return tl::unexpected(sub.error());
      group.append("groups", std::move(*sub));
    }
    out.push_back(std::move(group));
  }
  return out;
}

}  // namespace

Expected<Value> summarize(const Store& store, const Dict& params, std::chrono::sys_seconds now) {
  const std::string* type = params.get("type").if_string();
  if (!type) return fault("API summarize() requires a type");
  if (auto e = store.schema().require_entity(*type); !e) return tl::unexpected(e.error());
  auto filter = compile_filter(store.schema(), *type, params.get("filters"));
  if (!filter) return tl::unexpected(filter.error());

  std::vector<SummaryField> fields;
  const List* summaries = params.get("summaries").if_list();
  if (!summaries) return fault("API summarize() requires a list of summaries");
  for (const Value& s : *summaries) {
    const std::string* field = s["field"].if_string();
    const std::string* kind = s["type"].if_string();
    if (!field || !kind) return fault("API summarize() each summary needs a field and a type");
    auto path = resolve_path(store.schema(), *type, *field);
    if (!path) return tl::unexpected(path.error());
    fields.push_back({std::move(*path), *field, *kind});
  }
  std::vector<Grouping> groupings;
  if (const List* grouping = params.get("grouping").if_list()) {
    for (const Value& g : *grouping) {
      const std::string* field = g["field"].if_string();
      const std::string* kind = g["type"].if_string();
      if (!field || !kind) return fault("API summarize() each grouping needs a field and a type");
      auto path = resolve_path(store.schema(), *type, *field);
      if (!path) return tl::unexpected(path.error());
      const std::string* dir = g["direction"].if_string();
      groupings.push_back({std::move(*path), *kind, dir && *dir == "desc"});
    }
  }

  const FilterContext ctx{now};
  std::vector<EventView> event_views;
  std::vector<const RowView*> rows;
  if (*type == "EventLogEntry") {
    const auto& recs = store.events().records();
    event_views.reserve(recs.size());
    for (const auto& r : recs) {
      EventView view(r, store.events().pool());
      if (matches(*filter, view, store, ctx)) event_views.push_back(view);
    }
    for (const auto& v : event_views) rows.push_back(&v);
  } else {
    for (const auto& [id, e] : store.tables().find(*type)->second.rows) {
      if (!e.retired && matches(*filter, e, store, ctx)) rows.push_back(&e);
    }
  }
  auto totals = summaries_of(fields, rows, store);
  if (!totals) return tl::unexpected(totals.error());
  Dict out{{"summaries", std::move(*totals)}};
  if (!groupings.empty()) {
    auto groups = groups_of(groupings, 0, fields, rows, store);
    if (!groups) return tl::unexpected(groups.error());
    out.append("groups", std::move(*groups));
  } else {
    out.append("groups", List{});
  }
  return Value(std::move(out));
}

}  // namespace sgeventd::sandbox
