#include "convert.h"

#include <datetime.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <limits>
#include <string_view>
#include <unordered_map>

namespace sgeventd::standin {

namespace {

// The package's local tzinfo; kept for the interpreter's lifetime (never released: module
// objects outlive static destructors' safe window).
PyObject* g_local_timezone = nullptr;

// json.dumps refuses deeper nesting (RecursionError) and cycles (ValueError); a cycle here
// would recurse forever, so depth is bounded.
constexpr int kMaxDepth = 500;

// CPython's datetime accessors are macros with C-style casts; they are used only here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
struct Fields {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
};
bool is_datetime(PyObject* o) { return PyDateTime_Check(o); }
bool is_date(PyObject* o) { return PyDate_Check(o); }
bool is_time(PyObject* o) { return PyTime_Check(o); }
bool is_delta(PyObject* o) { return PyDelta_Check(o); }
int delta_seconds(PyObject* o) {
  return PyDateTime_DELTA_GET_DAYS(o) * 86400 + PyDateTime_DELTA_GET_SECONDS(o);
}
Fields date_fields(PyObject* o) {
  return {PyDateTime_GET_YEAR(o), PyDateTime_GET_MONTH(o), PyDateTime_GET_DAY(o), 0, 0, 0};
}
Fields datetime_fields(PyObject* o) {
  Fields f = date_fields(o);
  f.hour = PyDateTime_DATE_GET_HOUR(o);
  f.minute = PyDateTime_DATE_GET_MINUTE(o);
  f.second = PyDateTime_DATE_GET_SECOND(o);
  return f;
}
Fields time_fields(PyObject* o) {
  return {1970,
          1,
          1,
          PyDateTime_TIME_GET_HOUR(o),
          PyDateTime_TIME_GET_MINUTE(o),
          PyDateTime_TIME_GET_SECOND(o)};
}
void import_datetime_api() { PyDateTime_IMPORT; }
#pragma GCC diagnostic pop

std::string type_name(py::handle object) { return Py_TYPE(object.ptr())->tp_name; }

[[noreturn]] void throw_python_error() { throw py::error_already_set(); }

int utc_offset_seconds(py::handle datetime) {
  py::object offset = datetime.attr("utcoffset")();
  if (offset.is_none()) return std::numeric_limits<int>::min();
  if (!is_delta(offset.ptr())) throw py::type_error("utcoffset() must return a timedelta");
  return delta_seconds(offset.ptr());
}

Value wall_clock_to_value(const Fields& f, int offset) {
  // No offset: a naive wall clock, read as local time like shotgun_api3's LocalTimezone.
  auto value =
      offset == std::numeric_limits<int>::min()
          ? DateTime::from_local(f.year, f.month, f.day, f.hour, f.minute, f.second)
          : DateTime::from_offset(f.year, f.month, f.day, f.hour, f.minute, f.second, offset);
  if (!value) throw py::value_error("datetime out of the range the api3 protocol carries");
  return *value;
}

Value datetime_to_value(py::handle object) {
  return wall_clock_to_value(datetime_fields(object.ptr()), utc_offset_seconds(object));
}

// shotgun_api3 sends a datetime.time as today's local date at that time.
Value time_to_value(py::handle object) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  Fields f = time_fields(object.ptr());
  f.year = local.tm_year + 1900;
  f.month = local.tm_mon + 1;
  f.day = local.tm_mday;
  int offset = std::numeric_limits<int>::min();
  py::object tz = object.attr("tzinfo");
  if (!tz.is_none()) {
    // An aware time: its zone's offset on today's date.
    py::object today =
        py::module_::import("datetime")
            .attr("datetime")(f.year, f.month, f.day, f.hour, f.minute, f.second, 0, tz);
    offset = utc_offset_seconds(today);
  }
  return wall_clock_to_value(f, offset);
}

// json.dumps turns these keys into strings; anything else is its TypeError.
std::string key_to_string(py::handle key) {
  PyObject* k = key.ptr();
  if (PyUnicode_Check(k)) return key.cast<std::string>();
  if (k == Py_True) return "true";
  if (k == Py_False) return "false";
  if (k == Py_None) return "null";
  if (PyLong_Check(k)) return py::str(key).cast<std::string>();
  if (PyFloat_Check(k)) return py::repr(key).cast<std::string>();
  throw py::type_error("keys must be str, int, float, bool or None, not " + type_name(key));
}

Value convert(py::handle object, int depth) {
  if (depth > kMaxDepth) throw py::value_error("Circular reference detected");
  PyObject* o = object.ptr();
  if (o == Py_None) return Value();
  if (PyUnicode_Check(o)) {
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(o, &size);
    if (!text) throw_python_error();
    return Value(std::string(text, static_cast<std::size_t>(size)));
  }
  if (PyBool_Check(o)) return Value(o == Py_True);
  if (PyLong_Check(o)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow != 0) throw py::value_error("int too large for the api3 protocol (64 bits)");
    if (v == -1 && PyErr_Occurred()) throw_python_error();
    return Value(v);
  }
  if (PyFloat_Check(o)) return Value(PyFloat_AsDouble(o));
  if (PyDict_Check(o)) {
    Dict dict;
    dict.reserve(static_cast<std::size_t>(PyDict_Size(o)));
    for (auto item : py::reinterpret_borrow<py::dict>(object)) {
      dict.set(key_to_string(item.first), convert(item.second, depth + 1));
    }
    return dict;
  }
  if (PyList_Check(o) || PyTuple_Check(o)) {
    List list;
    const Py_ssize_t size = PySequence_Fast_GET_SIZE(o);
    list.reserve(static_cast<std::size_t>(size));
    for (Py_ssize_t i = 0; i < size; ++i) {
      list.push_back(convert(PySequence_Fast_GET_ITEM(o, i), depth + 1));
    }
    return list;
  }
  // datetime is a date subclass: test it first.
  if (is_datetime(o)) return datetime_to_value(object);
  if (is_date(o)) {
    const Fields f = date_fields(o);
    return Date{f.year, f.month, f.day};
  }
  if (is_time(o)) return time_to_value(object);
  throw py::type_error("Object of type " + type_name(object) + " is not JSON serializable");
}

// The local offset and fold of a UTC instant, cached per quarter hour of UTC (zone
// changes happen on quarter hours), because a page of events shares a few instants. The
// cache is only used with the GIL held, and is dropped when the zone changes (time.tzset()
// after TZ was changed updates the C library's globals read here).
struct LocalShift {
  long offset = 0;
  int fold = 0;
};

struct Zone {
  const char* std_name = nullptr;
  const char* dst_name = nullptr;
  long std_offset = 0;
  friend bool operator==(const Zone&, const Zone&) = default;
};

LocalShift local_shift(std::int64_t utc) {
  static std::unordered_map<std::int64_t, LocalShift> cache;
  static Zone cached_zone;
  const Zone zone{tzname[0], tzname[1], timezone};
  if (!(zone == cached_zone)) {
    cache.clear();
    cached_zone = zone;
  }
  const std::int64_t bucket = utc >= 0 ? utc / 900 : (utc - 899) / 900;
  if (auto it = cache.find(bucket); it != cache.end()) return it->second;
  const auto at = [](std::int64_t t) {
    std::tm tm{};
    const std::time_t tt = static_cast<std::time_t>(t);
    localtime_r(&tt, &tm);
    return tm.tm_gmtoff;
  };
  LocalShift shift{at(utc), 0};
  // The wall clock repeats after the offset dropped by d: it is the second time when the
  // instant d seconds earlier (still at the larger offset) shows the same wall clock.
  const long before = at(utc - 7200);
  const long drop = before - shift.offset;
  if (drop > 0 && at(utc - drop) == before) shift.fold = 1;
  if (cache.size() >= 4096) cache.clear();
  cache.emplace(bucket, shift);
  return shift;
}

py::object datetime_to_python(const DateTime& value, bool to_local) {
  std::int64_t seconds = value.utc.time_since_epoch().count();
  int fold = 0;
  if (to_local) {
    const LocalShift shift = local_shift(seconds);
    seconds += shift.offset;
    fold = shift.fold;
  }
  const auto day = std::chrono::floor<std::chrono::days>(
      std::chrono::sys_seconds(std::chrono::seconds(seconds)));
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(std::chrono::sys_seconds(std::chrono::seconds(seconds)) - day);
  PyObject* tz = to_local ? g_local_timezone : Py_None;
  PyObject* result = PyDateTimeAPI->DateTime_FromDateAndTimeAndFold(
      static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
      static_cast<int>(static_cast<unsigned>(ymd.day())), static_cast<int>(hms.hours().count()),
      static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()), 0, tz, fold,
      PyDateTimeAPI->DateTimeType);
  if (!result) throw_python_error();
  return py::reinterpret_steal<py::object>(result);
}

py::object string_to_python(const std::string& text) {
  PyObject* result =
      PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "surrogateescape");
  if (!result) throw_python_error();
  return py::reinterpret_steal<py::object>(result);
}

}  // namespace

void init_conversions(py::object local_timezone) {
  import_datetime_api();
  if (!PyDateTimeAPI) throw_python_error();
  PyObject* previous = g_local_timezone;
  g_local_timezone = local_timezone.release().ptr();
  Py_XDECREF(previous);
}

Value to_value(py::handle object) { return convert(object, 0); }

std::string to_string_arg(py::handle object, const char* what) {
  if (object.is_none()) return {};
  if (!PyUnicode_Check(object.ptr())) {
    throw py::type_error(std::string(what) + " must be a str, not " + type_name(object));
  }
  return object.cast<std::string>();
}

std::vector<std::string> to_string_list(py::handle object, const char* what) {
  std::vector<std::string> out;
  if (object.is_none()) return out;
  if (PyUnicode_Check(object.ptr())) {
    throw py::type_error(std::string(what) + " must be a list of str, not a str");
  }
  for (auto item : py::reinterpret_borrow<py::iterable>(object)) {
    out.push_back(to_string_arg(item, what));
  }
  return out;
}

py::object to_python(const Value& value, bool to_local) {
  switch (value.type()) {
    case Value::Type::Null:
      return py::none();
    case Value::Type::Bool:
      return py::bool_(value.as_bool());
    case Value::Type::Int:
      return py::int_(value.as_int());
    case Value::Type::Float:
      return py::float_(value.as_float());
    case Value::Type::String:
      return string_to_python(value.as_string());
    case Value::Type::Date:
      // Never produced by responses (shotgun_api3 returns dates as strings); kept a string.
      return string_to_python(value.as_date().to_string());
    case Value::Type::DateTime:
      return datetime_to_python(value.as_datetime(), to_local);
    case Value::Type::List: {
      const List& list = value.as_list();
      py::list out(list.size());
      for (std::size_t i = 0; i < list.size(); ++i) {
        out[i] = to_python(list[i], to_local);
      }
      return out;
    }
    case Value::Type::Dict: {
      py::dict out;
      for (const auto& [key, item] : value.as_dict()) {
        out[string_to_python(key)] = to_python(item, to_local);
      }
      return out;
    }
  }
  return py::none();
}

}  // namespace sgeventd::standin
