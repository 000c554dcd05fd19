// Reads: `read` (filters, return_fields, sorts, paging, return_only; sg-protocol.md 5.1) and
// `summarize`, plus how an entity is rendered for read, create and update results.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "sandbox/fault.h"
#include "sandbox/filter.h"
#include "sandbox/store.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

// return_fields as paths; unknown fields are left out, as sites do ("type" and "id" are
// always returned and need no path).
std::vector<FieldPath> return_paths(const Schema& schema, const std::string& type,
                                    const Value& return_fields);

// Appends {"type", "id", <fields>} as compact JSON.
void append_row_json(std::string& out, const Store& store, const RowView& row,
                     const std::vector<FieldPath>& fields);
Dict render_row(const Store& store, const RowView& row, const std::vector<FieldPath>& fields);

// The whole `read` answer ({"results": {"entities": [...], "paging_info": {...}}}) as
// compact JSON, envelope included so a large page is never copied to be wrapped.
Expected<std::string> read_json(const Store& store, const Dict& params, int max_page_size,
                                std::chrono::sys_seconds now);

Expected<Value> summarize(const Store& store, const Dict& params, std::chrono::sys_seconds now);

}  // namespace sgeventd::sandbox
