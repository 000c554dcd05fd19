// Filters from the user syntax of shotgun_api3 to the api3 wire form (sg-protocol.md section 7),
// and the entity trimming the official client applies to filter and update values.
#pragma once

#include <string>

#include "sgeventd/sg/error.h"
#include "sgeventd/value.h"

namespace sgeventd::sg {

// [[path, relation, values...], {"filter_operator": ..., "filters": [...]}, ...] joined by
// filter_operator ("all"/"and"/"" -> and, "any"/"or" -> or) becomes
// {"logical_operator", "conditions": [{"path", "relation", "values": [...]}, ...]}.
// A ShotgunError for an unknown operator or a malformed filter.
Result<Value> translate_filters(const List& filters, const std::string& filter_operator,
                                bool optimize_entities);

// A dict with "id" and "type" cut to id, type, url, name, content_type, local_path, storage,
// relative_path; with recursive, a list's dicts likewise (one level).
Value optimize_entity(const Value& value, bool recursive = true);

}  // namespace sgeventd::sg
