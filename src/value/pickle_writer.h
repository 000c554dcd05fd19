// Writes plain data as a pickle of protocol 2, the format mockgun's generate_schema writes and
// reads (`sgeventd schema dump`). Only what a schema holds: None, bools, ints, floats, str,
// lists and dicts; no memo, no globals, so any Python from 2.4 on loads it.
#pragma once

#include <string>

#include "sgeventd/result.h"
#include "sgeventd/value.h"

namespace sgeventd::pickle {

// The pickle bytes, or which value could not be written (dates and datetimes: a schema has
// none, and writing them would need the datetime global).
::sgeventd::Expected<std::string, std::string> pickle_value(const Value& value);

}  // namespace sgeventd::pickle
