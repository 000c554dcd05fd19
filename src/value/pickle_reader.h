// A small, safe reader for the pickles shotgunEvents writes as its state file and mockgun
// writes as its schema (protocols 2 to 5, from Python 2 or 3). It builds plain data and
// executes nothing: it knows the opcodes for None, bools, ints, floats, str, bytes, tuples,
// lists and dicts, and exactly three callables, the
// ones a naive datetime.datetime needs: datetime.datetime(state bytes), and for protocol 2
// written by Python 3, _codecs.encode(text, "latin1") and bytes() that carry those bytes. Any
// other global (os.system, ...) is refused before anything else is read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"
#include "sgeventd/value.h"

namespace sgeventd::pickle {

// datetime.datetime without tzinfo, as written (local wall time for shotgunEvents).
struct NaiveDateTime {
  int year = 1;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int microsecond = 0;

  friend bool operator==(const NaiveDateTime&, const NaiveDateTime&) = default;
};

// One object of the unpickled graph. Containers refer to other objects by index into
// Graph::objects, so objects shared through the memo stay shared and nothing is copied.
struct Object {
  enum class Type {
    kNone,
    kBool,
    kInt,
    kFloat,
    kStr,
    kBytes,
    kTuple,
    kList,
    kDict,
    kDateTime,
    kGlobal
  };

  Type type = Type::kNone;
  bool boolean = false;
  std::int64_t integer = 0;
  double real = 0;                 // kFloat
  std::string text;                // kStr (UTF-8), kBytes (raw), kGlobal ("module.name")
  std::vector<std::size_t> items;  // kTuple, kList
  std::vector<std::pair<std::size_t, std::size_t>> entries;  // kDict, in insertion order
  NaiveDateTime datetime;                                    // kDateTime

  static const char* type_name(Type t);
};

struct Graph {
  std::vector<Object> objects;
  std::size_t root = 0;
  int protocol = 0;

  const Object& at(std::size_t index) const { return objects[index]; }
  const Object& root_object() const { return objects[root]; }
};

struct Limits {
  std::size_t max_objects = 10'000'000;
};

// Errors say what was wrong and at which byte offset ("truncated at byte 812", "refusing
// global os.system at byte 2").
::sgeventd::Expected<Graph, std::string> unpickle(std::string_view bytes,
                                                  const Limits& limits = {});

// The graph as plain data (schema pickles, `sgeventd sandbox --schema`): tuples become lists,
// dict keys must be str; bytes, datetimes and globals are refused.
::sgeventd::Expected<Value, std::string> to_value(const Graph& graph);

// Whether these bytes look like a pickle at all (a PROTO opcode for protocol 2 or later).
bool looks_like_pickle(std::string_view bytes);

}  // namespace sgeventd::pickle
