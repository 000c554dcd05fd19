// A studio's schema in the sandbox (docs/sandbox.md, "A studio's schema"): the answers of
// schema_read and schema_entity_read, as `sgeventd api` and `sgeventd schema dump` print them
// in JSON or as the pickle pair mockgun's generate_schema writes (read without executing
// anything, value/pickle_reader.h).
#pragma once

#include <string>
#include <vector>

#include "sandbox/schema.h"
#include "sgeventd/result.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

struct ImportedSchema {
  Schema schema;
  // What was read but not kept as given, one line each ("Shot.sg_cost: data type 'currency'
  // is not emulated: kept as text"); for the operator, never fatal.
  std::vector<std::string> warnings;
};

// Builds the sandbox's schema from a schema_read answer ({type: {field: field schema}}) and,
// when given (not null), a schema_entity_read answer ({type: {"name": {"value": ...}}}).
// What the sandbox itself needs and a trimmed schema may lack (ApiUser, HumanUser,
// EventLogEntry, every type's id and created_/updated_ fields) comes from the starter schema,
// with a warning for each type added. An error only when the answer is not a schema at all.
::sgeventd::Expected<ImportedSchema, std::string> schema_from_api(const Value& fields,
                                                                  const Value& entities);

// Reads PATH: a folder holding schema.json or schema.pickle (and, optionally,
// schema_entity.json or schema_entity.pickle, the names `sgeventd schema dump` writes), or
// one file, JSON or pickle (told apart by its bytes). ENTITY_PATH, when not empty, names the
// schema_entity_read file (mockgun's pair may have any names).
::sgeventd::Expected<ImportedSchema, std::string> load_schema(const std::string& path,
                                                              const std::string& entity_path = {});

// The warnings as an operator reads them at start: at most MAX lines, the last one saying how
// many more there were (a real site can have hundreds of calculated fields).
std::vector<std::string> first_warnings(const std::vector<std::string>& warnings,
                                        std::size_t max = 20);

}  // namespace sgeventd::sandbox
