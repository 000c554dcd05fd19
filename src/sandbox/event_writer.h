// Builds the EventLogEntry rows a write produces, in the shapes of sg-protocol.md section 11:
// Shotgun_<Type>_New (meta new_entity), Shotgun_<Type>_Change (attribute_change, scalar or
// multi-entity, and the back-reference on the other side of a link), Shotgun_<Type>_Retirement
// and Shotgun_<Type>_Revival. Each call allocates the next id and stages the row in the
// store's transaction.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "sandbox/schema.h"
#include "sandbox/store.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

// Who a request acts as (sg-protocol.md section 2).
struct Actor {
  Value user;              // {"type","id"}: the script's ApiUser, or the sudo_as_login user
  Value sudo_actual_user;  // {"type","id"} of the real script or user when sudoing, else null
  std::string session_uuid;
};

class EventWriter {
 public:
  EventWriter(Store& store, const Actor& actor, std::chrono::sys_seconds now)
      : store_(store), actor_(actor), now_(now) {}

  std::int64_t entity_new(const Entity& e);
  std::int64_t scalar_change(const Entity& e, const FieldDef& f, const Value& old_stored,
                             const Value& new_stored, bool in_create);
  std::int64_t multi_change(const Entity& e, const FieldDef& f, const List& added,
                            const List& removed, bool in_create);
  // On `other`, whose field `other_field` mirrors `changed_field` of `changed`.
  std::int64_t back_reference(const Entity& other, const FieldDef& other_field,
                              const Entity& changed, const FieldDef& changed_field,
                              const List& added, const List& removed, bool in_create,
                              std::int64_t original_event_id);
  std::int64_t retirement_date_change(const Entity& e, const Value& old_value,
                                      const Value& new_value);
  std::int64_t retirement(const Entity& e);
  std::int64_t revival(const Entity& e);
  // A client's own EventLogEntry (custom events such as Toolkit_Folders_Create). `fields` are
  // already checked; returns the row as staged.
  const EventRecord& custom(const Dict& fields);

 private:
  EventRecord base(const Entity& e, const std::string& action);
  std::int64_t stage(EventRecord r, Dict meta);
  std::string user_name() const;
  std::string describe(const FieldDef& f, const Value& stored) const;

  Store& store_;
  const Actor& actor_;
  std::chrono::sys_seconds now_;
};

}  // namespace sgeventd::sandbox
