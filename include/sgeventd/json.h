// JSON text <-> Value. The one place sgeventd parses and writes JSON (DESIGN.md section 11:
// keep the ingest parse behind one function so a faster parser can replace it).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

#include "sgeventd/value.h"

namespace sgeventd {

struct JsonError {
  std::string message;
  std::size_t offset = 0;  // byte offset of the problem in the input
};

struct JsonParseOptions {
  // Turn every string of exactly the form YYYY-MM-DDTHH:MM:SSZ into a DateTime, wherever it
  // sits (not dict keys): what shotgun_api3 does to every response (sg-protocol.md section 8).
  bool datetimes = false;
  // Nesting deeper than this is an error, not a stack overflow.
  std::size_t max_depth = 512;
};

::sgeventd::Expected<Value, JsonError> parse_json(std::string_view text,
                                                  const JsonParseOptions& options = {});

enum class JsonStyle {
  Python,   // json.dumps defaults: ", " and ": " separators, non-ASCII left raw
  Compact,  // no spaces
  Pretty,   // two-space indent, for people
};

struct JsonWriteOptions {
  JsonStyle style = JsonStyle::Python;
  // DateTimes as the UTC instant (true) or their own wall clock (false), both with a "Z".
  bool convert_datetimes_to_utc = true;
};

// No spaces, datetimes in UTC: what the wire and the files want.
inline constexpr JsonWriteOptions kCompactJson{.style = JsonStyle::Compact};

// Floats are written as Python's repr writes them (shortest round trip, "1.0", "1e+16");
// invalid UTF-8 in strings becomes U+FFFD; dates as "YYYY-MM-DD"; datetimes as "...Z".
std::string to_json(const Value& value, const JsonWriteOptions& options = {});
void append_json(std::string& out, const Value& value, const JsonWriteOptions& options = {});

}  // namespace sgeventd
