#include "sandbox/schema_import.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "sgeventd/json.h"
#include "value/pickle_reader.h"

namespace sgeventd::sandbox {
namespace {

// api3 wraps every property as {"value": ..., "editable": ...}.
const Value& property(const Value& field, std::string_view name) { return field[name]["value"]; }

std::vector<std::string> strings_of(const Value& v) {
  std::vector<std::string> out;
  if (const List* items = v.if_list()) {
    for (const Value& item : *items) {
      if (const std::string* s = item.if_string()) out.push_back(*s);
    }
  }
  return out;
}

// The field the sandbox reads back as a link's "name". Sites do not say; this is their rule of
// thumb for the common types, then the first of the usual names the type has.
std::string display_field_of(const EntityDef& e, const Schema& starter) {
  if (const EntityDef* known = starter.entity(e.name)) {
    if (e.field(known->display_field)) return known->display_field;
  }
  for (const char* candidate : {"code", "name", "content", "title", "subject", "firstname"}) {
    if (e.field(candidate)) return candidate;
  }
  return "id";
}

FieldDef field_from_api(const std::string& type, const std::string& name, const Value& schema,
                        std::vector<std::string>& warnings) {
  FieldDef d;
  d.name = name;
  d.entity_type = type;
  const std::string* data_type = property(schema, "data_type").if_string();
  if (!data_type) {
    warnings.push_back(type + "." + name + ": no data type: kept as text");
  } else if (auto known = field_type_from_name(*data_type)) {
    d.type = *known;
  } else {
    d.declared_type = *data_type;
    warnings.push_back(type + "." + name + ": data type '" + *data_type +
                       "' is not emulated: kept as text");
  }
  const std::string* display = property(schema, "name").if_string();
  d.display_name = display ? *display : name;
  if (const Value& editable = property(schema, "editable"); editable.is_bool()) {
    d.editable = editable.as_bool();
  }
  const Value& properties = schema["properties"];
  d.valid_types = strings_of(property(properties, "valid_types"));
  d.valid_values = strings_of(property(properties, "valid_values"));
  // A site's default for a text field is often "" and for others null: both mean "none".
  if (const Value& fallback = property(properties, "default_value");
      !fallback.is_null() && !(fallback.is_string() && fallback.as_string().empty())) {
    d.default_value = fallback;
  }
  return d;
}

// What the sandbox writes on every entity, and the accounts and the log it cannot run without.
constexpr std::array<const char*, 5> kSystemFields{"id", "created_at", "updated_at", "created_by",
                                                   "updated_by"};
constexpr std::array<const char*, 3> kRequiredTypes{"ApiUser", "HumanUser", "EventLogEntry"};

void fill_from_starter(Schema& schema, const Schema& starter, std::vector<std::string>& warnings) {
  for (const char* type : kRequiredTypes) {
    if (schema.entity(type)) continue;
    EntityDef& e = schema.add_entity(type);
    const EntityDef& known = *starter.entity(type);
    e.display_name = known.display_name;
    for (const auto& f : known.fields) e.add(*f);
    warnings.push_back(std::string(type) +
                       " is not in the schema: the sandbox needs it, so the starter's is used");
  }
  for (const auto& [type, known] : starter.entities()) {
    EntityDef* e = schema.entity(type);
    if (!e) continue;
    // The fields the sandbox itself reads and writes on these types (logins, script names).
    for (const auto& f : known.fields) {
      const bool system =
          std::find(kSystemFields.begin(), kSystemFields.end(), f->name) != kSystemFields.end();
      const bool account = (type == "ApiUser" || type == "HumanUser") &&
                           (f->name == "firstname" || f->name == "login" || f->name == "name" ||
                            f->name == "sg_status_list");
      if ((system || account) && !e->field(f->name)) e->add(*f);
    }
  }
  // A type the starter does not know still gets what every entity has.
  // (Adding fields leaves the map of types as it is, so it may be walked meanwhile.)
  const EntityDef& model = *starter.entity("Shot");
  for (const auto& [type, unused] : schema.entities()) {
    if (starter.entity(type)) continue;
    EntityDef& e = *schema.entity(type);
    for (const char* name : kSystemFields) {
      if (!e.field(name)) e.add(*model.field(name));
    }
  }
}

// A link field keeps its mirror (Shot.tasks and Task.entity) when both sides are in the schema.
void link_reverse_fields(Schema& schema, const Schema& starter) {
  for (const auto& [type, known] : starter.entities()) {
    EntityDef* e = schema.entity(type);
    if (!e) continue;
    for (const auto& f : known.fields) {
      if (f->reverse_field.empty()) continue;
      FieldDef* mine = e->field(f->name);
      if (!mine || !mine->is_link()) continue;
      bool mirrored = true;
      for (const auto& other : mine->valid_types) {
        const EntityDef* linked = schema.entity(other);
        const FieldDef* back = linked ? linked->field(f->reverse_field) : nullptr;
        if (back && !back->is_link()) mirrored = false;
      }
      if (mirrored) mine->reverse_field = f->reverse_field;
    }
  }
}

}  // namespace

::sgeventd::Expected<ImportedSchema, std::string> schema_from_api(const Value& fields,
                                                                  const Value& entities) {
  const Value& answer =
      fields.is_dict() && fields["results"].is_dict() ? fields["results"] : fields;
  const Dict* types = answer.if_dict();
  if (!types || types->empty()) {
    return tl::unexpected(std::string("not a schema_read answer: expected a dict of entity types"));
  }
  const Value& names =
      entities.is_dict() && entities["results"].is_dict() ? entities["results"] : entities;
  ImportedSchema out;
  const Schema starter = Schema::starter();
  for (const auto& [type, type_fields] : *types) {
    const Dict* defs = type_fields.if_dict();
    if (!defs) {
      return tl::unexpected("not a schema_read answer: " + type + " is not a dict of fields");
    }
    // One file given as the other: a schema_entity_read answer has "name" and "visible".
    if (defs->contains("name") && defs->get("name")["value"].is_string() &&
        !defs->get("name")["data_type"].is_dict()) {
      return tl::unexpected("this is a schema_entity_read answer (" + type +
                            " has a display name, not fields): give it as the entity schema");
    }
    EntityDef& e = out.schema.add_entity(type);
    if (const std::string* display = names[type]["name"]["value"].if_string()) {
      e.display_name = *display;
    } else if (const EntityDef* known = starter.entity(type)) {
      e.display_name = known->display_name;
    }
    for (const auto& [name, schema] : *defs) {
      if (!schema.is_dict()) {
        out.warnings.push_back(type + "." + name + ": not a field schema: left out");
        continue;
      }
      e.add(field_from_api(type, name, schema, out.warnings));
    }
  }
  fill_from_starter(out.schema, starter, out.warnings);
  link_reverse_fields(out.schema, starter);
  // The types taken whole from the starter get its display field back this way too.
  for (const auto& [type, unused] : out.schema.entities()) {
    EntityDef& def = *out.schema.entity(type);
    def.display_field = display_field_of(def, starter);
  }
  return out;
}

namespace {

::sgeventd::Expected<std::string, std::string> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return tl::unexpected(path + ": read failed");
  return text.str();
}

// JSON or pickle, told apart by the bytes (a pickle of protocol 2 or later starts with PROTO).
::sgeventd::Expected<Value, std::string> read_answer(const std::string& path) {
  auto bytes = read_bytes(path);
  if (!bytes) return tl::unexpected(bytes.error());
  if (pickle::looks_like_pickle(*bytes)) {
    auto graph = pickle::unpickle(*bytes);
    if (!graph) return tl::unexpected(path + ": " + graph.error());
    auto value = pickle::to_value(*graph);
    if (!value) return tl::unexpected(path + ": " + value.error());
    return std::move(*value);
  }
  auto doc = parse_json(*bytes);
  if (!doc) {
    return tl::unexpected(path + ": neither JSON nor a pickle of protocol 2 or later (" +
                          doc.error().message + ")");
  }
  return std::move(*doc);
}

// In a folder: NAME.json, else NAME.pickle; empty when neither is there.
std::string pick_in(const std::filesystem::path& dir, const std::string& name) {
  for (const char* ext : {".json", ".pickle"}) {
    std::error_code ec;
    const auto candidate = dir / (name + ext);
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate.string();
  }
  return {};
}

}  // namespace

::sgeventd::Expected<ImportedSchema, std::string> load_schema(const std::string& path,
                                                              const std::string& entity_path) {
  std::string fields_file = path;
  std::string entities_file = entity_path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    fields_file = pick_in(path, "schema");
    if (fields_file.empty()) {
      return tl::unexpected(path + ": holds neither schema.json nor schema.pickle");
    }
    if (entities_file.empty()) entities_file = pick_in(path, "schema_entity");
  }
  auto fields = read_answer(fields_file);
  if (!fields) return tl::unexpected(fields.error());
  Value entities;
  if (!entities_file.empty()) {
    auto read = read_answer(entities_file);
    if (!read) return tl::unexpected(read.error());
    entities = std::move(*read);
  }
  auto schema = schema_from_api(*fields, entities);
  if (!schema) return tl::unexpected(fields_file + ": " + schema.error());
  if (entities_file.empty()) {
    schema->warnings.push_back(
        "no schema_entity_read file: entity display names are the type "
        "names (or the starter's)");
  }
  return schema;
}

std::vector<std::string> first_warnings(const std::vector<std::string>& warnings, std::size_t max) {
  if (warnings.size() <= max) return warnings;
  std::vector<std::string> out(warnings.begin(),
                               warnings.begin() + static_cast<std::ptrdiff_t>(max - 1));
  out.push_back("... and " + std::to_string(warnings.size() - out.size()) + " more");
  return out;
}

}  // namespace sgeventd::sandbox
