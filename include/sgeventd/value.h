// The value model shared by every layer of sgeventd: what a ShotGrid api3 request or response
// can hold, with the distinctions the protocol makes (sg-protocol.md sections 7 and 8).
//
// JSON alone cannot say whether "2024-01-02T03:04:05Z" is a string or a datetime, or whether a
// Python caller meant a date or a datetime; shotgun_api3 keeps those distinctions with Python
// types, and so does Value. Dicts keep insertion order (what Python does, and what makes the
// bytes we send look like the official client's) but compare equal regardless of order, like
// JSON objects.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sgeventd {

// A calendar date with no time zone ("date" fields). Sent as YYYY-MM-DD, never shifted.
struct Date {
  int year = 1970;
  int month = 1;
  int day = 1;

  friend auto operator<=>(const Date&, const Date&) = default;
  friend bool operator==(const Date&, const Date&) = default;

  // Proleptic Gregorian validity (month 1-12, day within the month, leap years).
  bool valid() const;
  std::string to_string() const;  // "YYYY-MM-DD"
};

// A point in time, to the second (the protocol carries no fractions).
//
// `utc` is the instant. `utc_offset` is the offset of the wall clock the value was written in
// (seconds east of UTC); it matters only when a client is configured not to convert datetimes
// to UTC, where shotgun_api3 sends the wall clock followed by a "Z". Two DateTimes are equal
// when they denote the same instant, as aware Python datetimes are.
struct DateTime {
  std::chrono::sys_seconds utc{};
  std::int32_t utc_offset = 0;

  // Builds from a UTC calendar time. Fails on an impossible date or time.
  static std::optional<DateTime> from_utc(int year, int month, int day, int hour = 0,
                                          int minute = 0, int second = 0);
  // Builds from a wall-clock time at a fixed offset (seconds east of UTC).
  static std::optional<DateTime> from_offset(int year, int month, int day, int hour, int minute,
                                             int second, std::int32_t utc_offset);
  // Builds from a naive wall-clock time in the process's local time zone (TZ), as
  // shotgun_api3 interprets naive datetimes.
  static std::optional<DateTime> from_local(int year, int month, int day, int hour = 0,
                                            int minute = 0, int second = 0);
  // Parses exactly "YYYY-MM-DDTHH:MM:SSZ" (20 characters, a real calendar date, 00:00:00 to
  // 23:59:59, "T" and "Z" in either case as strptime allows); anything else is nullopt. This is the
  // only form the protocol turns into a datetime on the way in.
  static std::optional<DateTime> parse_wire(std::string_view text);

  // "YYYY-MM-DDTHH:MM:SSZ": the instant in UTC, or with convert_to_utc false, the wall clock
  // it was written in followed by "Z" (shotgun_api3's convert_datetimes_to_utc=False).
  std::string to_wire(bool convert_to_utc = true) const;
  // ISO 8601 with the numeric offset, e.g. "2024-01-01T19:04:05-08:00".
  std::string to_iso() const;

  friend bool operator==(const DateTime& a, const DateTime& b) { return a.utc == b.utc; }
  friend auto operator<=>(const DateTime& a, const DateTime& b) { return a.utc <=> b.utc; }
};

class Value;
using List = std::vector<Value>;

// An insertion-ordered string-keyed map. Lookups are linear: protocol dicts are small, and
// order matters more than asymptotics here.
class Dict {
 public:
  using Item = std::pair<std::string, Value>;
  using iterator = std::vector<Item>::iterator;
  using const_iterator = std::vector<Item>::const_iterator;

  Dict() = default;
  Dict(std::initializer_list<Item> items);

  // The value for key, or nullptr.
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // The value for key, or a shared null Value.
  const Value& get(std::string_view key) const;
  // Replaces the value of an existing key in place, else appends.
  Value& set(std::string key, Value value);
  // Appends without checking for an existing key (for builders that know keys are new).
  Value& append(std::string key, Value value);
  // Inserts a null value if the key is missing (like std::map::operator[]).
  Value& operator[](std::string_view key);
  bool erase(std::string_view key);

  // Defined after Value (below): Value is incomplete here.
  std::size_t size() const;
  bool empty() const;
  void reserve(std::size_t n);
  iterator begin();
  iterator end();
  const_iterator begin() const;
  const_iterator end() const;

  // Drops earlier duplicates of a key, keeping the last value at the first key's position
  // (what Python's json.loads does with repeated keys).
  void deduplicate();

  // Same keys with equal values, in any order.
  friend bool operator==(const Dict& a, const Dict& b);

 private:
  std::vector<Item> items_;
};

class Value {
 public:
  enum class Type { Null, Bool, Int, Float, String, Date, DateTime, List, Dict };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool v) : data_(v) {}
  Value(int v) : data_(std::int64_t{v}) {}
  Value(long v) : data_(std::int64_t{v}) {}
  Value(long long v) : data_(std::int64_t{v}) {}
  Value(unsigned v) : data_(std::int64_t{v}) {}
  Value(double v) : data_(v) {}
  Value(const char* v) : data_(std::string(v)) {}
  Value(std::string_view v) : data_(std::string(v)) {}
  Value(std::string v) : data_(std::move(v)) {}
  Value(Date v) : data_(v) {}
  Value(DateTime v) : data_(v) {}
  Value(List v) : data_(std::move(v)) {}
  Value(Dict v) : data_(std::move(v)) {}

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_null() const { return type() == Type::Null; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_int() const { return type() == Type::Int; }
  bool is_float() const { return type() == Type::Float; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return type() == Type::String; }
  bool is_date() const { return type() == Type::Date; }
  bool is_datetime() const { return type() == Type::DateTime; }
  bool is_list() const { return type() == Type::List; }
  bool is_dict() const { return type() == Type::Dict; }

  // Unchecked accessors: the caller has tested the type.
  bool as_bool() const { return std::get<bool>(data_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(data_); }
  double as_float() const { return std::get<double>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  std::string& as_string() { return std::get<std::string>(data_); }
  const Date& as_date() const { return std::get<Date>(data_); }
  const DateTime& as_datetime() const { return std::get<DateTime>(data_); }
  const List& as_list() const { return std::get<List>(data_); }
  List& as_list() { return std::get<List>(data_); }
  const Dict& as_dict() const { return std::get<Dict>(data_); }
  Dict& as_dict() { return std::get<Dict>(data_); }

  // Checked accessors: nullptr when the type differs.
  const std::string* if_string() const { return std::get_if<std::string>(&data_); }
  const List* if_list() const { return std::get_if<List>(&data_); }
  List* if_list() { return std::get_if<List>(&data_); }
  const Dict* if_dict() const { return std::get_if<Dict>(&data_); }
  Dict* if_dict() { return std::get_if<Dict>(&data_); }
  std::optional<std::int64_t> if_int() const;

  // Dict member access; a shared null Value when this is not a dict or the key is missing.
  const Value& operator[](std::string_view key) const;

  // Python truthiness: null, false, 0, 0.0, "" and empty containers are false.
  bool truthy() const;
  // A dict with both "type" and "id" (an entity reference).
  bool is_entity() const;
  static const char* type_name(Type t);

  friend bool operator==(const Value& a, const Value& b);

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, Date, DateTime, List, Dict>
      data_;
};

inline std::size_t Dict::size() const { return items_.size(); }
inline bool Dict::empty() const { return items_.empty(); }
inline void Dict::reserve(std::size_t n) { items_.reserve(n); }
inline Dict::iterator Dict::begin() { return items_.begin(); }
inline Dict::iterator Dict::end() { return items_.end(); }
inline Dict::const_iterator Dict::begin() const { return items_.begin(); }
inline Dict::const_iterator Dict::end() const { return items_.end(); }

}  // namespace sgeventd
