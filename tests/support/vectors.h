// The recorded api3 vectors (testdata/api3/*.jsonl, from shotgun_api3 3.10.0).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "sgeventd/value.h"

namespace sgeventd::testing {

// One Value per line of a JSON-lines file under SGEVENTD_TESTDATA_DIR/api3; aborts the test
// binary with a message if the file is missing or malformed.
std::vector<Value> load_vectors(const std::string& file_name);

// The vectors' encoding of Python results: {"$datetime": "<iso with offset>"} becomes a
// DateTime; everything else stays as it is.
Value decode_expected(const Value& encoded);

// "2024-01-01T19:04:05-08:00" (also "+00:00", optional ".ffffff" which is dropped).
std::optional<DateTime> parse_iso_datetime(const std::string& text);

}  // namespace sgeventd::testing

namespace sgeventd {
// Lets gtest print Values as JSON in failure messages and parameter names.
void PrintTo(const Value& value, std::ostream* os);
}  // namespace sgeventd
