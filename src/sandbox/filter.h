// The filter engine: wire filters ({"logical_operator", "conditions": [{"path", "relation",
// "values"}]}, nested; sg-protocol.md section 7) checked against the schema once, then run
// against rows. Also field paths ("code", "project.Project.name": one hop), shared with
// return_fields and sorts.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/fault.h"
#include "sandbox/row.h"
#include "sandbox/schema.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

// A field of the row, or one hop through a link to a field of the linked entity.
struct FieldPath {
  std::string text;                 // as the client wrote it
  const FieldDef* field = nullptr;  // on the row's type
  std::string hop_type;             // "Project" in project.Project.name
  const FieldDef* hop_field = nullptr;

  // The field whose data type applies to the value at the end of the path.
  const FieldDef& target() const { return hop_field ? *hop_field : *field; }
};

// A 103 fault for an unknown type or field, or a hop through a field that is not a link.
Expected<FieldPath> resolve_path(const Schema& schema, std::string_view entity_type,
                                 std::string_view path);

// The stored values at the end of the path: one for a plain field; for a hop, one per linked
// active entity of the hop type (a null when there is none).
std::vector<Value> path_values(const FieldPath& path, const RowView& row, const Links& links);

enum class Relation {
  kIs,
  kIsNot,
  kLessThan,
  kGreaterThan,
  kContains,
  kNotContains,
  kStartsWith,
  kEndsWith,
  kBetween,
  kNotBetween,
  kIn,
  kNotIn,
  kInLast,
  kNotInLast,
  kInNext,
  kNotInNext,
  kInCalendarDay,
  kInCalendarWeek,
  kInCalendarMonth,
  kInCalendarYear,
  kTypeIs,
  kTypeIsNot,
  kNameContains,
  kNameNotContains,
  kNameIs,
  kNameStartsWith,
  kNameEndsWith,
  kNameId,
};

struct Condition {
  FieldPath path;
  Relation relation = Relation::kIs;
  List values;  // normalized to the stored form of the target field
};

struct Filter {
  bool is_condition = false;
  bool any = false;              // logical_operator "or"
  std::vector<Filter> children;  // a group
  Condition condition;           // a leaf
};

struct FilterContext {
  std::chrono::sys_seconds now;  // for in_last, in_next, in_calendar_*
};

// Checks a wire filter (a dict as the client sends it, or a list of [path, relation,
// values...] conditions) against the schema of entity_type.
Expected<Filter> compile_filter(const Schema& schema, std::string_view entity_type,
                                const Value& wire);

bool matches(const Filter& filter, const RowView& row, const Links& links,
             const FilterContext& context);

// The id range implied by top-level "and" conditions on id (is, in, greater_than, less_than,
// between), so id-ordered logs need not be scanned end to end. Inclusive.
struct IdRange {
  std::int64_t low = std::numeric_limits<std::int64_t>::min();
  std::int64_t high = std::numeric_limits<std::int64_t>::max();
};
IdRange id_range(const Filter& filter);

}  // namespace sgeventd::sandbox
