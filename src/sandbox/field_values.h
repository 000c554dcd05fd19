// Field values in their three forms: what a client sends (checked and normalized per data
// type on the way in), what is stored, and what is read back or written into event meta
// (sg-protocol.md sections 8 and 11).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sandbox/fault.h"
#include "sandbox/row.h"
#include "sandbox/schema.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

// {"type": T, "id": n}: how links are stored.
Value link_ref(std::string_view type, std::int64_t id);
// {"type", "id", "name"}: how links are read; null when the target is missing or retired.
Value link_out(const Value& ref, const Links& links);

// Checks a client's value against the field's data type and returns the stored form.
// Links must name active rows of a valid type.
Expected<Value> coerce_input(const FieldDef& field, const Value& value, const Links& links);

// The stored value as `read` returns it.
Value output_value(const FieldDef& field, const Value& stored, const Links& links);
// The stored value as event meta carries it: datetimes as "YYYY-MM-DD HH:MM:SS UTC", links
// as {"type","id","name"} (plus "valid" in multi-entity added/removed lists).
Value meta_value(const FieldDef& field, const Value& stored, const Links& links);
Value meta_link(const Value& ref, const Links& links);
std::string meta_datetime(const DateTime& when);

// Total order for sorts and comparisons: numbers by value, strings case-insensitively,
// dates and datetimes in time, links by display name. Nulls sort last.
int compare_values(const Value& a, const Value& b, const Links& links);

std::string lower_ascii(std::string_view text);

}  // namespace sgeventd::sandbox
