// Python's numeric logging levels (the config's `logging` key and the worker protocol's `level`)
// mapped onto spdlog's, and Python's level names for the lines we write.
#pragma once

#include <string_view>

#include <spdlog/common.h>

namespace sgeventd::log {

inline constexpr int kPyDebug = 10;
inline constexpr int kPyInfo = 20;
inline constexpr int kPyWarning = 30;
inline constexpr int kPyError = 40;
inline constexpr int kPyCritical = 50;

// Rounds down to the nearest standard level, so a custom Python level such as 25 behaves as
// INFO and 45 as ERROR; below 10 (NOTSET and custom levels) is trace, which lets everything
// through.
spdlog::level::level_enum level_from_python(int python_level);

// 10, 20, 30, 40, 50 (trace: 5).
int python_level(spdlog::level::level_enum level);

// Python's names: "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL" ("TRACE" below DEBUG).
std::string_view level_name(spdlog::level::level_enum level);

}  // namespace sgeventd::log
