// The EventLogEntry table, kept compact so a million events fit in a few hundred MB: a few
// indexed columns plus meta pre-serialized as compact JSON, never a Value tree per event.
// Links (entity, user, project) are stored as type and id and resolved when read, so a
// retired entity reads as null (sg-protocol.md section 11, quirks).
//
// Ids come from one counter and are never reused. Test controls can hide ids: reserved ids
// (allocated, no event yet) and held events (written, not yet visible), which is how the
// transaction gaps of real sites are reproduced.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sandbox/row.h"
#include "sgeventd/value.h"

namespace sgeventd::sandbox {

// Interns the few distinct strings events repeat (event types, field names, entity types,
// session uuids). Index 0 is the empty string, read as null.
class StringPool {
 public:
  StringPool();
  std::uint32_t intern(std::string_view s);
  const std::string& get(std::uint32_t index) const { return strings_[index]; }

 private:
  std::vector<std::string> strings_;
  std::unordered_map<std::string, std::uint32_t> index_;
};

struct EventRecord {
  std::int64_t id = 0;
  std::int64_t created_at = 0;  // unix seconds, UTC
  std::int64_t entity_id = 0;   // 0: none
  std::int64_t user_id = 0;
  std::int64_t project_id = 0;
  std::uint32_t event_type = 0;  // StringPool indexes; 0 is null
  std::uint32_t attribute_name = 0;
  std::uint32_t session_uuid = 0;
  std::uint32_t entity_type = 0;
  std::uint32_t user_type = 0;
  std::string meta = "null";  // compact JSON
  std::string description;    // empty: null
  std::string cached_display_name;
};

class EventLog;

// A record seen through the RowView interface (for filters, sorts and return_fields).
class EventView : public RowView {
 public:
  EventView(const EventRecord& record, const StringPool& pool) : r_(record), pool_(pool) {}
  std::int64_t id() const override { return r_.id; }
  const std::string& type() const override;
  Value get(std::string_view field) const override;
  bool append_read_json(std::string_view field, std::string& out,
                        const Links& links) const override;

 private:
  const EventRecord& r_;
  const StringPool& pool_;
};

class EventLog {
 public:
  StringPool& pool() { return pool_; }
  const StringPool& pool() const { return pool_; }

  // The next id to hand out (never reused, even when a transaction rolls back, as sites'
  // database sequences do).
  std::int64_t allocate_id() { return next_id_++; }
  std::int64_t next_id() const { return next_id_; }
  void set_next_id(std::int64_t id) { next_id_ = std::max(next_id_, id); }

  // Makes an event visible (or keeps it hidden when events are being held). Returns true
  // when visible.
  bool publish(EventRecord record);
  // Inserts a record loaded from the data file (any order).
  void load(EventRecord record);
  void reserve_capacity(std::size_t n) { visible_.reserve(n); }

  // Visible records, ascending by id.
  const std::vector<EventRecord>& records() const { return visible_; }
  const EventRecord* find(std::int64_t id) const;
  // Index of the first visible record with id >= `id`.
  std::size_t lower_bound(std::int64_t id) const;
  std::int64_t last_id() const { return visible_.empty() ? 0 : visible_.back().id; }

  // Test controls. reserve: allocate ids with no event yet. hold: keep the next n published
  // events invisible. release: make held events visible (all when ids is empty). discard:
  // forget reserved or held ids, which then never appear.
  std::vector<std::int64_t> reserve(int count);
  bool is_reserved(std::int64_t id) const { return reserved_.count(id) != 0; }
  void unreserve(std::int64_t id) { reserved_.erase(id); }
  void hold_next(int count) { hold_remaining_ = count; }
  std::vector<EventRecord> release(const std::vector<std::int64_t>& ids);
  std::vector<std::int64_t> discard(const std::vector<std::int64_t>& ids);
  std::vector<std::int64_t> hidden_ids() const;

  void clear();

 private:
  void insert_visible(EventRecord record);

  StringPool pool_;
  std::vector<EventRecord> visible_;
  std::set<std::int64_t> reserved_;
  std::map<std::int64_t, EventRecord> held_;
  int hold_remaining_ = 0;
  std::int64_t next_id_ = 1;
};

}  // namespace sgeventd::sandbox
