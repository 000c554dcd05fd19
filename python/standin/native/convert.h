// Python objects <-> sgeventd::Value, with shotgun_api3's rules for datetimes
// (shotgun_api3's _transform_outbound and _transform_inbound).
//
// Every function here needs the GIL. Conversion errors are raised as Python exceptions
// (pybind11 translates them at the module boundary): TypeError and ValueError with the
// messages json.dumps gives for the same input.
#pragma once

#include <pybind11/pybind11.h>

#include "sgeventd/value.h"

namespace sgeventd::standin {

namespace py = pybind11;

// Called once at import: the tzinfo that returned datetimes carry (the package's
// sg_timezone.local), and the datetime C API.
void init_conversions(py::object local_timezone);

// Outbound. Naive datetimes are local time; datetime.time is today's local date at that time.
Value to_value(py::handle object);
// A str, or None as "". A TypeError for anything else.
std::string to_string_arg(py::handle object, const char* what);
// A list of strings (fields, return_fields); None as empty.
std::vector<std::string> to_string_list(py::handle object, const char* what);

// Inbound. With to_local, datetimes are aware in the local zone (the DST repeated hour told
// apart with fold); without, naive in UTC, as shotgun_api3 with convert_datetimes_to_utc=False.
py::object to_python(const Value& value, bool to_local);

}  // namespace sgeventd::standin
