// The write methods (create, update, delete, revive), with the events each one writes and the
// mirrored link fields kept in step (Task.entity and Shot.tasks). Callers hold the store's
// write lock and run these inside a store transaction.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "sandbox/event_writer.h"
#include "sandbox/fault.h"
#include "sandbox/store.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

class Writer {
 public:
  Writer(Store& store, const Actor& actor, std::chrono::sys_seconds now)
      : store_(store), actor_(actor), now_(now), events_(store, actor_, now) {}

  // params as on the wire: {"type", "fields": [{"field_name", "value"}], "return_fields"}.
  Expected<Value> create(const Dict& params);
  // {"type", "id", "fields": [{"field_name", "value"[, "multi_entity_update_mode"]}]}; a
  // top-level "multi_entity_update_mode" dict (legacy batch form) is honoured too.
  Expected<Value> update(const Dict& params);
  Expected<Value> retire(const Dict& params);
  Expected<Value> revive(const Dict& params);
  // Lets create take an "id" (seed files that link entities by id).
  void allow_explicit_ids(bool allow) { explicit_ids_ = allow; }

 private:
  enum class Mode { kSet, kAdd, kRemove };
  // Sets one field, writing its change event and the back-reference on the other side.
  void apply(Entity& e, const FieldDef& f, Value stored, Mode mode, bool in_create);
  void mirror(const Entity& changed, const FieldDef& f, const Value& target_ref, bool add,
              bool in_create, std::int64_t original_event_id);
  Expected<Value> create_event(const Dict& params);
  void touch(Entity& e);

  Store& store_;
  Actor actor_;  // a copy: callers often pass a temporary
  std::chrono::sys_seconds now_;
  EventWriter events_;  // refers to actor_, so declared after it
  bool explicit_ids_ = false;
};

}  // namespace sgeventd::sandbox
