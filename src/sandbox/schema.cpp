#include "sandbox/schema.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace sgeventd::sandbox {
namespace {

struct TypeName {
  FieldType type;
  const char* name;
};

constexpr std::array<TypeName, 18> kTypeNames{{
    {FieldType::kText, "text"},
    {FieldType::kNumber, "number"},
    {FieldType::kFloat, "float"},
    {FieldType::kCheckbox, "checkbox"},
    {FieldType::kDate, "date"},
    {FieldType::kDateTime, "date_time"},
    {FieldType::kEntity, "entity"},
    {FieldType::kMultiEntity, "multi_entity"},
    {FieldType::kList, "list"},
    {FieldType::kStatusList, "status_list"},
    {FieldType::kUrl, "url"},
    {FieldType::kSerializable, "serializable"},
    {FieldType::kDuration, "duration"},
    {FieldType::kPercent, "percent"},
    {FieldType::kTagList, "tag_list"},
    {FieldType::kImage, "image"},
    {FieldType::kColor, "color"},
    {FieldType::kUuid, "uuid"},
}};

// Every type an EventLogEntry.entity may point at: all of them but the log itself.
std::vector<std::string> all_entity_types();

const std::vector<std::string> kUserTypes{"HumanUser", "ApiUser"};
const std::vector<std::string> kStatuses{"wtg", "rdy", "ip",  "rev",  "fin", "hld", "omt", "na",
                                         "act", "dis", "apr", "cmpt", "res", "opn", "clsd"};

// A small builder so the starter schema below reads like a table.
class Builder {
 public:
  explicit Builder(EntityDef& e) : e_(e) {}

  Builder& f(std::string name, FieldType type, std::string display,
             std::vector<std::string> valid_types = {}, std::string reverse = {}) {
    FieldDef d;
    d.name = std::move(name);
    d.type = type;
    d.display_name = std::move(display);
    d.valid_types = std::move(valid_types);
    d.reverse_field = std::move(reverse);
    if (type == FieldType::kStatusList) {
      d.valid_values = kStatuses;
      d.default_value = Value("wtg");
    }
    if (type == FieldType::kCheckbox) d.default_value = Value(false);
    e_.add(std::move(d));
    return *this;
  }
  Builder& readonly(std::string name, FieldType type, std::string display,
                    std::vector<std::string> valid_types = {}) {
    f(std::move(name), type, std::move(display), std::move(valid_types));
    e_.fields.back()->editable = false;
    return *this;
  }
  Builder& default_value(Value v) {
    e_.fields.back()->default_value = std::move(v);
    return *this;
  }

 private:
  EntityDef& e_;
};

EntityDef& new_entity(std::map<std::string, EntityDef, std::less<>>& m, const std::string& name,
                      const std::string& display_field, bool with_project = true) {
  EntityDef& e = m[name];
  e.name = name;
  e.display_name = name;
  e.display_field = display_field;
  Builder b(e);
  b.readonly("id", FieldType::kNumber, "Id")
      .readonly("created_at", FieldType::kDateTime, "Date Created")
      .readonly("updated_at", FieldType::kDateTime, "Date Updated")
      .readonly("created_by", FieldType::kEntity, "Created by", kUserTypes)
      .readonly("updated_by", FieldType::kEntity, "Updated by", kUserTypes);
  if (with_project) b.f("project", FieldType::kEntity, "Project", {"Project"});
  return e;
}

}  // namespace

const char* field_type_name(FieldType type) {
  for (const auto& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "text";
}

std::optional<FieldType> field_type_from_name(std::string_view name) {
  for (const auto& t : kTypeNames) {
    if (name == t.name) return t.type;
  }
  return std::nullopt;
}

bool FieldDef::accepts_type(std::string_view entity_type_name) const {
  return valid_types.empty() ||
         std::find(valid_types.begin(), valid_types.end(), entity_type_name) != valid_types.end();
}

const FieldDef* EntityDef::field(std::string_view field_name) const {
  for (const auto& f : fields) {
    if (f->name == field_name) return f.get();
  }
  return nullptr;
}

FieldDef* EntityDef::field(std::string_view field_name) {
  for (auto& f : fields) {
    if (f->name == field_name) return f.get();
  }
  return nullptr;
}

FieldDef& EntityDef::add(FieldDef def) {
  def.entity_type = name;
  fields.push_back(std::make_unique<FieldDef>(std::move(def)));
  return *fields.back();
}

namespace {

std::vector<std::string> all_entity_types() {
  std::vector<std::string> v{"Project",  "Sequence",  "Shot",          "Asset", "Task",
                             "Step",     "Version",   "PublishedFile", "Note",  "Reply",
                             "Playlist", "HumanUser", "ApiUser",       "Group"};
  for (int i = 1; i <= 5; ++i) v.push_back("CustomEntity0" + std::to_string(i));
  return v;
}

}  // namespace

Schema Schema::starter() {
  using T = FieldType;
  Schema s;
  auto& m = s.entities_;
  const std::vector<std::string> task_parents{"Shot",           "Asset",          "Sequence",
                                              "CustomEntity01", "CustomEntity02", "CustomEntity03",
                                              "CustomEntity04", "CustomEntity05"};
  const std::vector<std::string> linkables{"Shot", "Asset",   "Sequence",      "Project",
                                           "Task", "Version", "CustomEntity01"};

  Builder(new_entity(m, "Project", "name", false))
      .f("name", T::kText, "Project Name")
      .f("sg_status", T::kList, "Status")
      .f("sg_description", T::kText, "Description")
      .f("archived", T::kCheckbox, "Archived")
      .f("is_template", T::kCheckbox, "Template")
      .f("start_date", T::kDate, "Start Date")
      .f("end_date", T::kDate, "End Date")
      .f("image", T::kImage, "Thumbnail")
      .f("tags", T::kTagList, "Tags")
      .f("users", T::kMultiEntity, "Users", {"HumanUser"});

  Builder(new_entity(m, "Sequence", "code"))
      .f("code", T::kText, "Sequence Name")
      .f("description", T::kText, "Description")
      .f("sg_status_list", T::kStatusList, "Status")
      .f("shots", T::kMultiEntity, "Shots", {"Shot"}, "sg_sequence")
      .f("assets", T::kMultiEntity, "Assets", {"Asset"}, "sequences")
      .f("tasks", T::kMultiEntity, "Tasks", {"Task"}, "entity")
      .f("image", T::kImage, "Thumbnail")
      .f("tags", T::kTagList, "Tags");

  Builder(new_entity(m, "Shot", "code"))
      .f("code", T::kText, "Shot Code")
      .f("description", T::kText, "Description")
      .f("sg_status_list", T::kStatusList, "Status")
      .f("sg_sequence", T::kEntity, "Sequence", {"Sequence"}, "shots")
      .f("assets", T::kMultiEntity, "Assets", {"Asset"}, "shots")
      .f("tasks", T::kMultiEntity, "Tasks", {"Task"}, "entity")
      .f("notes", T::kMultiEntity, "Notes", {"Note"}, "note_links")
      .f("sg_cut_in", T::kNumber, "Cut In")
      .f("sg_cut_out", T::kNumber, "Cut Out")
      .f("sg_cut_duration", T::kDuration, "Cut Duration")
      .f("sg_frame_rate", T::kFloat, "Frame Rate")
      .f("sg_percent_complete", T::kPercent, "Percent Complete")
      .f("sg_omit", T::kCheckbox, "Omit")
      .f("sg_due_date", T::kDate, "Due Date")
      .f("sg_last_review", T::kDateTime, "Last Review")
      .f("sg_shot_type", T::kList, "Type")
      .f("sg_link", T::kUrl, "Link")
      .f("sg_data", T::kSerializable, "Data")
      .f("image", T::kImage, "Thumbnail")
      .f("tags", T::kTagList, "Tags");
  m["Shot"].field("sg_shot_type")->valid_values = {"Regular", "VFX", "Bookend"};

  Builder(new_entity(m, "Asset", "code"))
      .f("code", T::kText, "Asset Name")
      .f("description", T::kText, "Description")
      .f("sg_status_list", T::kStatusList, "Status")
      .f("sg_asset_type", T::kList, "Type")
      .f("shots", T::kMultiEntity, "Shots", {"Shot"}, "assets")
      .f("sequences", T::kMultiEntity, "Sequences", {"Sequence"}, "assets")
      .f("tasks", T::kMultiEntity, "Tasks", {"Task"}, "entity")
      .f("notes", T::kMultiEntity, "Notes", {"Note"}, "note_links")
      .f("image", T::kImage, "Thumbnail")
      .f("tags", T::kTagList, "Tags");
  m["Asset"].field("sg_asset_type")->valid_values = {"Character", "Prop", "Environment", "FX"};

  Builder(new_entity(m, "Step", "code", false))
      .f("code", T::kText, "Step Name")
      .f("short_name", T::kText, "Short Name")
      .f("description", T::kText, "Description")
      .f("color", T::kColor, "Color")
      .f("entity_type", T::kText, "Entity Type");

  Builder(new_entity(m, "Task", "content"))
      .f("content", T::kText, "Task Name")
      .f("entity", T::kEntity, "Link", task_parents, "tasks")
      .f("step", T::kEntity, "Pipeline Step", {"Step"})
      .f("sg_status_list", T::kStatusList, "Status")
      .f("task_assignees", T::kMultiEntity, "Assigned To", {"HumanUser", "Group"})
      .f("start_date", T::kDate, "Start Date")
      .f("due_date", T::kDate, "Due Date")
      .f("duration", T::kDuration, "Duration")
      .f("est_in_mins", T::kDuration, "Bid")
      .f("color", T::kColor, "Gantt Bar Color")
      .f("sg_description", T::kText, "Description")
      .f("image", T::kImage, "Thumbnail")
      .f("tags", T::kTagList, "Tags");

  Builder(new_entity(m, "Version", "code"))
      .f("code", T::kText, "Version Name")
      .f("description", T::kText, "Description")
      .f("entity", T::kEntity, "Link", linkables)
      .f("sg_task", T::kEntity, "Task", {"Task"})
      .f("user", T::kEntity, "Artist", kUserTypes)
      .f("sg_status_list", T::kStatusList, "Status")
      .f("playlists", T::kMultiEntity, "Playlists", {"Playlist"}, "versions")
      .f("published_files", T::kMultiEntity, "Published Files", {"PublishedFile"}, "version")
      .f("sg_path_to_movie", T::kText, "Path to Movie")
      .f("sg_uploaded_movie", T::kUrl, "Uploaded Movie")
      .f("frame_count", T::kNumber, "Frame Count")
      .f("image", T::kImage, "Thumbnail")
      .f("tags", T::kTagList, "Tags");

  Builder(new_entity(m, "PublishedFile", "code"))
      .f("code", T::kText, "Published File Name")
      .f("name", T::kText, "Name")
      .f("description", T::kText, "Description")
      .f("entity", T::kEntity, "Link", linkables)
      .f("task", T::kEntity, "Task", {"Task"})
      .f("version", T::kEntity, "Version", {"Version"}, "published_files")
      .f("version_number", T::kNumber, "Version Number")
      .f("path", T::kUrl, "Path")
      .f("sg_status_list", T::kStatusList, "Status")
      .f("image", T::kImage, "Thumbnail")
      .f("tags", T::kTagList, "Tags");

  Builder(new_entity(m, "Note", "subject"))
      .f("subject", T::kText, "Subject")
      .f("content", T::kText, "Body")
      .f("note_links", T::kMultiEntity, "Links", linkables, "notes")
      .f("addressings_to", T::kMultiEntity, "To", {"HumanUser", "Group"})
      .f("replies", T::kMultiEntity, "Replies", {"Reply"}, "entity")
      .f("sg_status_list", T::kStatusList, "Status")
      .f("user", T::kEntity, "Author", kUserTypes)
      .f("tags", T::kTagList, "Tags");

  Builder(new_entity(m, "Reply", "content", false))
      .f("content", T::kText, "Body")
      .f("entity", T::kEntity, "Note", {"Note"}, "replies")
      .f("user", T::kEntity, "Author", kUserTypes);

  Builder(new_entity(m, "Playlist", "code"))
      .f("code", T::kText, "Playlist Name")
      .f("description", T::kText, "Description")
      .f("versions", T::kMultiEntity, "Versions", {"Version"}, "playlists")
      .f("locked", T::kCheckbox, "Locked")
      .f("sg_date_and_time", T::kDateTime, "Date and Time")
      .f("tags", T::kTagList, "Tags");

  Builder(new_entity(m, "HumanUser", "name", false))
      .f("name", T::kText, "Name")
      .f("login", T::kText, "Login")
      .f("firstname", T::kText, "First Name")
      .f("lastname", T::kText, "Last Name")
      .f("email", T::kText, "Email")
      .f("sg_status_list", T::kStatusList, "Status")
      .default_value(Value("act"))
      .f("groups", T::kMultiEntity, "Groups", {"Group"}, "users")
      .f("projects", T::kMultiEntity, "Projects", {"Project"})
      .f("image", T::kImage, "Thumbnail");

  Builder(new_entity(m, "ApiUser", "firstname", false))
      .f("firstname", T::kText, "Script Name")
      .f("lastname", T::kText, "Last Name")
      .f("description", T::kText, "Description")
      .f("email", T::kText, "Email")
      .f("salted_password", T::kText, "Application Key")
      .f("sg_status_list", T::kStatusList, "Status")
      .default_value(Value("act"));
  // The key is a secret: readers never see it (editable=false keeps it out of creates too).
  m["ApiUser"].field("salted_password")->editable = false;

  Builder(new_entity(m, "Group", "code", false))
      .f("code", T::kText, "Group Name")
      .f("users", T::kMultiEntity, "Users", {"HumanUser"}, "groups")
      .f("sg_status_list", T::kStatusList, "Status")
      .default_value(Value("act"));

  for (int i = 1; i <= 5; ++i) {
    Builder(new_entity(m, "CustomEntity0" + std::to_string(i), "code"))
        .f("code", T::kText, "Name")
        .f("description", T::kText, "Description")
        .f("sg_status_list", T::kStatusList, "Status")
        .f("tasks", T::kMultiEntity, "Tasks", {"Task"}, "entity")
        .f("image", T::kImage, "Thumbnail")
        .f("tags", T::kTagList, "Tags");
  }

  // EventLogEntry (sg-protocol.md section 11): no created_by/updated_* fields; only the
  // server fills most of it, but anyone may create entries (custom events).
  EntityDef& log = m["EventLogEntry"];
  log.name = "EventLogEntry";
  log.display_name = "Event Log Entry";
  log.display_field = "description";
  Builder(log)
      .readonly("id", T::kNumber, "Id")
      .f("event_type", T::kText, "Event Type")
      .f("attribute_name", T::kText, "Attribute Name")
      .f("description", T::kText, "Description")
      .f("cached_display_name", T::kText, "Cached Display Name")
      .f("meta", T::kSerializable, "Meta")
      .f("entity", T::kEntity, "Link", all_entity_types())
      .f("user", T::kEntity, "Created By", kUserTypes)
      .f("project", T::kEntity, "Project", {"Project"})
      .f("session_uuid", T::kUuid, "Session Id")
      .readonly("created_at", T::kDateTime, "Date Created")
      .f("image", T::kImage, "Thumbnail")
      .f("filmstrip_image", T::kImage, "Filmstrip Thumbnail");
  return s;
}

const EntityDef* Schema::entity(std::string_view type) const {
  auto it = entities_.find(type);
  return it == entities_.end() ? nullptr : &it->second;
}

EntityDef* Schema::entity(std::string_view type) {
  auto it = entities_.find(type);
  return it == entities_.end() ? nullptr : &it->second;
}

EntityDef& Schema::add_entity(const std::string& type) {
  EntityDef& e = entities_[type];
  if (e.name.empty()) {
    e.name = type;
    e.display_name = type;
  }
  return e;
}

Expected<const EntityDef*> Schema::require_entity(std::string_view type) const {
  if (const EntityDef* e = entity(type)) return e;
  return fault("API read() invalid entity type: '" + std::string(type) +
               "' is not a valid entity type");
}

Expected<const FieldDef*> Schema::field(std::string_view type, std::string_view field_name) const {
  auto e = require_entity(type);
  if (!e) return tl::unexpected(e.error());
  if (const FieldDef* f = (*e)->field(field_name)) return f;
  return fault(std::string(type) + "." + std::string(field_name) + " doesn't exist");
}

std::string custom_field_name(std::string_view display_name) {
  std::string out = "sg_";
  bool pending_underscore = false;
  for (char c : display_name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      if (pending_underscore && out.size() > 3) out += '_';
      pending_underscore = false;
      out += static_cast<char>(std::tolower(u));
    } else {
      pending_underscore = true;
    }
  }
  return out;
}

Expected<const FieldDef*> Schema::create_field(std::string_view type, FieldType data_type,
                                               std::string_view display_name,
                                               std::vector<std::string> valid_types,
                                               std::vector<std::string> valid_values) {
  EntityDef* e = entity(type);
  if (!e)
    return fault("schema_field_create: '" + std::string(type) + "' is not a valid entity type");
  if (type == "EventLogEntry") return fault("schema_field_create: EventLogEntry cannot get fields");
  const std::string name = custom_field_name(display_name);
  if (name == "sg_") return fault("schema_field_create: the field needs a name");
  if (e->field(name)) {
    return fault("schema_field_create: " + std::string(type) + "." + name + " already exists");
  }
  for (const auto& t : valid_types) {
    if (!entity(t)) return fault("schema_field_create: valid_types names unknown type '" + t + "'");
  }
  FieldDef d;
  d.name = name;
  d.type = data_type;
  d.display_name = std::string(display_name);
  d.valid_types = std::move(valid_types);
  d.valid_values = std::move(valid_values);
  d.custom = true;
  if (data_type == FieldType::kCheckbox) d.default_value = Value(false);
  return &e->add(std::move(d));
}

void Schema::restore_field(FieldDef def) {
  EntityDef* e = entity(def.entity_type);
  if (!e || e->field(def.name)) return;
  def.custom = true;
  e->add(std::move(def));
}

namespace {

Value prop(Value v, bool editable) { return Dict{{"editable", editable}, {"value", std::move(v)}}; }

}  // namespace

Value Schema::field_schema(const FieldDef& f) {
  Dict properties{{"default_value", prop(f.default_value, false)},
                  {"summary_default", prop("none", true)}};
  if (f.is_link()) {
    List types(f.valid_types.begin(), f.valid_types.end());
    properties.append("valid_types", prop(std::move(types), true));
  }
  if (f.type == FieldType::kList || f.type == FieldType::kStatusList) {
    List values(f.valid_values.begin(), f.valid_values.end());
    properties.append("valid_values", prop(std::move(values), true));
  }
  const std::string data_type = f.declared_type.empty() ? field_type_name(f.type) : f.declared_type;
  return Dict{{"data_type", prop(data_type, false)}, {"description", prop("", true)},
              {"editable", prop(f.editable, false)}, {"entity_type", prop(f.entity_type, false)},
              {"mandatory", prop(false, false)},     {"name", prop(f.display_name, true)},
              {"properties", std::move(properties)}, {"unique", prop(false, false)},
              {"visible", prop(true, false)}};
}

Value Schema::entity_schema(const EntityDef& e) {
  return Dict{{"name", prop(e.display_name, false)}, {"visible", prop(true, false)}};
}

}  // namespace sgeventd::sandbox
