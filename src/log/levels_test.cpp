#include "log/levels.h"

#include <gtest/gtest.h>

namespace sgeventd::log {
namespace {

namespace lvl = spdlog::level;

TEST(Levels, PythonNumbersMapToSpdlog) {
  EXPECT_EQ(level_from_python(10), lvl::debug);
  EXPECT_EQ(level_from_python(20), lvl::info);
  EXPECT_EQ(level_from_python(30), lvl::warn);
  EXPECT_EQ(level_from_python(40), lvl::err);
  EXPECT_EQ(level_from_python(50), lvl::critical);
}

TEST(Levels, CustomNumbersRoundDown) {
  EXPECT_EQ(level_from_python(0), lvl::trace);  // NOTSET: everything
  EXPECT_EQ(level_from_python(5), lvl::trace);
  EXPECT_EQ(level_from_python(25), lvl::info);
  EXPECT_EQ(level_from_python(45), lvl::err);
  EXPECT_EQ(level_from_python(60), lvl::critical);
}

TEST(Levels, NamesAndNumbersArePythons) {
  EXPECT_EQ(level_name(lvl::debug), "DEBUG");
  EXPECT_EQ(level_name(lvl::info), "INFO");
  EXPECT_EQ(level_name(lvl::warn), "WARNING");
  EXPECT_EQ(level_name(lvl::err), "ERROR");
  EXPECT_EQ(level_name(lvl::critical), "CRITICAL");
  for (int n : {10, 20, 30, 40, 50}) EXPECT_EQ(python_level(level_from_python(n)), n);
}

}  // namespace
}  // namespace sgeventd::log
