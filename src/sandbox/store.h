// The sandbox's data: entities per type, the event log, and the schema, with transactions so
// a batch is all-or-nothing. One lock guards it all (readers share it); callers take it.
// Every committed transaction is handed to the persistence hook (SQLite, when --data is set)
// before its events become visible.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sandbox/event_log.h"
#include "sandbox/fault.h"
#include "sandbox/row.h"
#include "sandbox/schema.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

struct Entity : RowView {
  std::string entity_type;
  std::int64_t entity_id = 0;
  bool retired = false;
  std::optional<DateTime> retirement_date;
  Dict fields;  // stored values; a missing key reads as null

  std::int64_t id() const override { return entity_id; }
  const std::string& type() const override { return entity_type; }
  Value get(std::string_view field) const override;
};

struct EntityTable {
  std::map<std::int64_t, Entity> rows;
  std::int64_t next_id = 1;
};

// What one transaction changed, for the persistence hook.
struct ChangeSet {
  std::vector<const Entity*> entities;
  std::vector<const EventRecord*> events;                      // newly visible
  std::vector<std::pair<std::string, std::int64_t>> next_ids;  // per type; "" is the log
};

class Store : public Links {
 public:
  using PersistHook = std::function<Expected<void>(const Store&, const ChangeSet&)>;
  // Told of every event a transaction wrote, held ones too, once the commit can no longer
  // fail (the webhook sender: a site delivers at write time, whatever readers see yet).
  // Called under the store's lock: it must only copy what it needs and return.
  using CommitListener =
      std::function<void(const StringPool& pool, const std::vector<EventRecord>& events)>;

  explicit Store(Schema schema);

  std::shared_mutex& mutex() const { return mutex_; }
  Schema& schema() { return schema_; }
  const Schema& schema() const { return schema_; }
  EventLog& events() { return events_; }
  const EventLog& events() const { return events_; }
  const std::map<std::string, EntityTable, std::less<>>& tables() const { return tables_; }
  void set_persist_hook(PersistHook hook) { persist_ = std::move(hook); }
  void set_commit_listener(CommitListener listener) { commit_listener_ = std::move(listener); }

  // Any state (active or retired), or nullptr.
  const Entity* find(std::string_view type, std::int64_t id) const;
  // Links
  const RowView* active(std::string_view type, std::int64_t id) const override;
  std::string display_name(std::string_view type, std::int64_t id) const override;

  // ---- writes: only inside a transaction ----
  void begin();
  // A new entity with the next id of its type (or a given id, for seeds and loading).
  Entity& insert(const std::string& type, std::optional<std::int64_t> id = std::nullopt);
  // An existing entity, to change; remembers its old state for rollback.
  Entity* modify(std::string_view type, std::int64_t id);
  // An event to publish at commit (its id is already allocated).
  void stage_event(EventRecord record);
  // Publishes staged events and persists the changes; on a persistence failure everything
  // is rolled back and the fault returned.
  Expected<void> commit();
  void rollback();
  bool in_transaction() const { return in_txn_; }
  // Ids allocated so far in this transaction's staged events.
  const std::vector<EventRecord>& staged_events() const { return staged_; }

  // Loading from the data file (no transaction, no events).
  void load_entity(Entity entity);
  void set_next_id(const std::string& type, std::int64_t next_id);
  std::int64_t next_id(const std::string& type) const;

  // Drops all events and the entities of every type but `keep` (test control reset). The
  // schema is kept.
  void clear(const std::set<std::string>& keep);

 private:
  Schema schema_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, EntityTable, std::less<>> tables_;
  EventLog events_;
  PersistHook persist_;
  CommitListener commit_listener_;

  bool in_txn_ = false;
  std::map<std::pair<std::string, std::int64_t>, std::optional<Entity>> undo_;
  std::set<std::string> touched_types_;
  std::vector<EventRecord> staged_;
};

}  // namespace sgeventd::sandbox
