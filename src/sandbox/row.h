// What the query engine sees of a stored row, and how it follows links. Entities and events
// are stored differently (events compactly, see event_log.h) but are read through the same
// two interfaces, so filters, sorts and return_fields work the same on both.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sgeventd/value.h"

namespace sgeventd::sandbox {

class RowView {
 public:
  virtual ~RowView() = default;
  virtual std::int64_t id() const = 0;
  virtual const std::string& type() const = 0;
  // The stored value of a field (links as {"type","id"}), null when unset. "id" is the id.
  virtual Value get(std::string_view field) const = 0;
  // Appends the field's JSON as `read` returns it, when the row can do so faster than
  // get() (events: pre-serialized meta, no Value per field); false when the caller should
  // use get().
  virtual bool append_read_json(std::string_view /*field*/, std::string& /*out*/,
                                const class Links& /*links*/) const {
    return false;
  }
};

class Links {
 public:
  virtual ~Links() = default;
  // The row if it exists and is not retired, else nullptr.
  virtual const RowView* active(std::string_view type, std::int64_t id) const = 0;
  // Its display name (code, content, name... per type); empty when unknown.
  virtual std::string display_name(std::string_view type, std::int64_t id) const = 0;
};

}  // namespace sgeventd::sandbox
