// The sandbox's schema: entity types and their typed fields, the starter set a fresh site has
// (sg-protocol.md sections 8 and 11), plus fields added at run time by schema_field_create.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/fault.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

enum class FieldType {
  kText,
  kNumber,
  kFloat,
  kCheckbox,
  kDate,
  kDateTime,
  kEntity,
  kMultiEntity,
  kList,
  kStatusList,
  kUrl,
  kSerializable,
  kDuration,
  kPercent,
  kTagList,
  kImage,
  kColor,
  kUuid,
};

// The api3 data_type name ("text", "multi_entity", ...) and back.
const char* field_type_name(FieldType type);
std::optional<FieldType> field_type_from_name(std::string_view name);

struct FieldDef {
  std::string name;  // "sg_status_list"
  FieldType type = FieldType::kText;
  std::string display_name;               // "Status"
  std::string entity_type;                // the type it belongs to
  std::vector<std::string> valid_types;   // entity and multi_entity: the types it may link to
  std::vector<std::string> valid_values;  // list and status_list; empty means any
  Value default_value;                    // set at create when the caller gives none
  bool editable = true;                   // false: only the server writes it
  bool custom = false;                    // made by schema_field_create (persisted)
  // For links with a field on the other side that mirrors this one (Task.entity and
  // Shot.tasks): the name of that field on the linked type, when the linked type has it.
  std::string reverse_field;
  // A data type a site has and the sandbox does not emulate ("calculated", "currency"...),
  // loaded from a studio's schema: the field behaves as text, and schema_read says this.
  std::string declared_type;

  bool is_link() const { return type == FieldType::kEntity || type == FieldType::kMultiEntity; }
  bool accepts_type(std::string_view entity_type_name) const;
};

struct EntityDef {
  std::string name;           // "Shot", "CustomEntity01"
  std::string display_name;   // "Shot"
  std::string display_field;  // the field read back as an entity's "name": code, content...
  std::vector<std::unique_ptr<FieldDef>> fields;  // pointers stay valid as fields are added

  const FieldDef* field(std::string_view field_name) const;
  FieldDef* field(std::string_view field_name);
  FieldDef& add(FieldDef def);
};

class Schema {
 public:
  // The starter schema (Project, Sequence, Shot, Asset, Task, Step, Version, PublishedFile,
  // Note, Reply, Playlist, HumanUser, ApiUser, Group, CustomEntity01..05, EventLogEntry).
  static Schema starter();

  const EntityDef* entity(std::string_view type) const;
  EntityDef* entity(std::string_view type);
  // The field, or a 103 fault worded as sites word it.
  Expected<const FieldDef*> field(std::string_view type, std::string_view field_name) const;
  Expected<const EntityDef*> require_entity(std::string_view type) const;
  const std::map<std::string, EntityDef, std::less<>>& entities() const { return entities_; }
  // A new, empty entity type (a studio's schema is built this way, schema_import.h); the
  // existing one if it is there.
  EntityDef& add_entity(const std::string& type);

  // schema_field_create: adds "sg_<snake display name>" and returns it.
  Expected<const FieldDef*> create_field(std::string_view type, FieldType data_type,
                                         std::string_view display_name,
                                         std::vector<std::string> valid_types = {},
                                         std::vector<std::string> valid_values = {});
  // Re-adds a custom field loaded from a data file under its saved name.
  void restore_field(FieldDef def);

  // The api3 field schema dict ({"data_type": {"editable", "value"}, ...}).
  static Value field_schema(const FieldDef& field);
  static Value entity_schema(const EntityDef& entity);

 private:
  std::map<std::string, EntityDef, std::less<>> entities_;
};

// "Complexity Level" -> "sg_complexity_level".
std::string custom_field_name(std::string_view display_name);

}  // namespace sgeventd::sandbox
