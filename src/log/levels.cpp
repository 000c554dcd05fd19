#include "log/levels.h"

namespace sgeventd::log {

namespace lvl = spdlog::level;

lvl::level_enum level_from_python(int python_level) {
  if (python_level >= kPyCritical) return lvl::critical;
  if (python_level >= kPyError) return lvl::err;
  if (python_level >= kPyWarning) return lvl::warn;
  if (python_level >= kPyInfo) return lvl::info;
  if (python_level >= kPyDebug) return lvl::debug;
  return lvl::trace;
}

int python_level(lvl::level_enum level) {
  switch (level) {
    case lvl::trace:
      return 5;
    case lvl::debug:
      return kPyDebug;
    case lvl::info:
      return kPyInfo;
    case lvl::warn:
      return kPyWarning;
    case lvl::err:
      return kPyError;
    case lvl::critical:
    case lvl::off:
    case lvl::n_levels:
      break;
  }
  return kPyCritical;
}

std::string_view level_name(lvl::level_enum level) {
  switch (level) {
    case lvl::trace:
      return "TRACE";
    case lvl::debug:
      return "DEBUG";
    case lvl::info:
      return "INFO";
    case lvl::warn:
      return "WARNING";
    case lvl::err:
      return "ERROR";
    case lvl::critical:
    case lvl::off:
    case lvl::n_levels:
      break;
  }
  return "CRITICAL";
}

}  // namespace sgeventd::log
