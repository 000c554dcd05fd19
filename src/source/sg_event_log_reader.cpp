#include "source/sg_event_log_reader.h"

#include <limits>

namespace sgeventd::source {

const std::vector<std::string>& event_fields() {
  static const std::vector<std::string> fields = {"id",      "event_type",   "attribute_name",
                                                  "meta",    "entity",       "user",
                                                  "project", "session_uuid", "created_at"};
  return fields;
}

List SgEventLogReader::with_server_filters(List conditions) const {
  const auto ids = [](const std::vector<std::int64_t>& v) {
    List out;
    for (auto id : v) out.emplace_back(static_cast<long long>(id));
    return out;
  };
  if (!filters_.event_types.empty()) {
    List types;
    for (const auto& t : filters_.event_types) types.emplace_back(t);
    conditions.push_back(List{"event_type", "in", std::move(types)});
  }
  if (!filters_.include_projects.empty()) {
    conditions.push_back(List{"project.Project.id", "in", ids(filters_.include_projects)});
  }
  if (!filters_.exclude_projects.empty()) {
    conditions.push_back(List{"project.Project.id", "not_in", ids(filters_.exclude_projects)});
  }
  return conditions;
}

sg::Result<List> SgEventLogReader::read_ascending(List conditions, int limit) {
  sg::FindOptions o;
  o.fields = event_fields();
  o.order = List{Dict{{"field_name", "id"}, {"direction", "asc"}}};
  o.limit = limit;
  return client_.find("EventLogEntry", with_server_filters(std::move(conditions)), o);
}

sg::Result<List> SgEventLogReader::read_after(std::int64_t after_id, int limit) {
  return read_ascending(List{List{"id", "greater_than", static_cast<long long>(after_id)}}, limit);
}

sg::Result<List> SgEventLogReader::read_between(std::int64_t after_id, std::int64_t upto,
                                                int limit) {
  return read_ascending(List{List{"id", "greater_than", static_cast<long long>(after_id)},
                             List{"id", "less_than", static_cast<long long>(upto) + 1}},
                        limit);
}

sg::Result<List> SgEventLogReader::read_matching(const List& any_of, int limit) {
  return read_ascending(List{Dict{{"filter_operator", "any"}, {"filters", any_of}}}, limit);
}

sg::Result<std::vector<std::int64_t>> SgEventLogReader::ids_ascending(List conditions, int limit) {
  sg::FindOptions o;
  o.fields = {"id"};
  o.order = List{Dict{{"field_name", "id"}, {"direction", "asc"}}};
  o.limit = limit;
  auto page = client_.find("EventLogEntry", std::move(conditions), o);
  if (!page) return tl::unexpected(page.error());
  return ids_of(*page);
}

sg::Result<std::vector<std::int64_t>> SgEventLogReader::ids_between(std::int64_t after_id,
                                                                    std::int64_t upto, int limit) {
  List conditions{List{"id", "greater_than", static_cast<long long>(after_id)}};
  if (upto < std::numeric_limits<std::int64_t>::max()) {
    conditions.push_back(List{"id", "less_than", static_cast<long long>(upto) + 1});
  }
  return ids_ascending(std::move(conditions), limit);
}

sg::Result<std::vector<std::int64_t>> SgEventLogReader::ids_matching(const List& any_of,
                                                                     int limit) {
  return ids_ascending(List{Dict{{"filter_operator", "any"}, {"filters", any_of}}}, limit);
}

sg::Result<std::int64_t> SgEventLogReader::newest_id() {
  sg::FindOptions o;
  o.fields = {"id"};
  o.order = List{Dict{{"field_name", "id"}, {"direction", "desc"}}};
  auto newest = client_.find_one("EventLogEntry", List{}, o);
  if (!newest) return tl::unexpected(newest.error());
  if (newest->is_null()) return 0;
  const auto id = (*newest)["id"].if_int();
  if (!id)
    return tl::unexpected(
        sg::Error{sg::ErrorKind::kResponseError, "event without an id", 0, 0, {}});
  return *id;
}

}  // namespace sgeventd::source
