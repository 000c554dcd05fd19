#include "config/ini.h"

#include <gtest/gtest.h>

#include <chrono>

namespace sgeventd::config {
namespace {

IniFile parse_ok(std::string_view text, IniFile::Environment env = {}) {
  auto ini = IniFile::parse(text, "test.conf", env);
  EXPECT_TRUE(ini) << (ini ? "" : ini.error().describe());
  return ini ? *ini : *IniFile::parse("", "empty", {});
}

std::string get(const IniFile& ini, const std::string& section, const std::string& key) {
  auto v = ini.get(section, key);
  EXPECT_TRUE(v) << v.error().describe();
  return v && *v ? **v : "<missing>";
}

TEST(Ini, BothDelimitersCommentsAndCaseInsensitiveKeys) {
  IniFile ini = parse_ok(
      "# comment\n"
      "; another\n"
      "[daemon]\n"
      "pidFile: /tmp/x.pid\n"
      "logMode = 1\n"
      "  # an indented comment is still a comment\n"
      "fetch_interval:5\n");
  EXPECT_EQ(get(ini, "daemon", "pidfile"), "/tmp/x.pid");
  EXPECT_EQ(get(ini, "daemon", "PIDFILE"), "/tmp/x.pid");
  EXPECT_EQ(get(ini, "daemon", "logMode"), "1");
  EXPECT_EQ(get(ini, "daemon", "fetch_interval"), "5");
  EXPECT_EQ(ini.line_of("daemon", "logmode"), 5);
  EXPECT_EQ(ini.keys("daemon"), (std::vector<std::string>{"pidfile", "logmode", "fetch_interval"}));
}

TEST(Ini, ContinuationLinesJoinWithNewlines) {
  IniFile ini = parse_ok(
      "[plugins]\n"
      "paths: /a,\n"
      "    /b,\n"
      "\n"
      "    /c\n"
      "next: 1\n");
  EXPECT_EQ(get(ini, "plugins", "paths"), "/a,\n/b,\n\n/c");
  EXPECT_EQ(get(ini, "plugins", "next"), "1");
}

TEST(Ini, DefaultsAndEnvironmentInterpolation) {
  IniFile ini = parse_ok(
      "[DEFAULT]\n"
      "root: /srv\n"
      "[daemon]\n"
      "logPath: %(root)s/logs\n"
      "server: %(SG_ED_SITE_URL)s\n"
      "pct: 100%%\n"
      "[shotgun]\n"
      "name: x\n",
      {{"SG_ED_SITE_URL", "https://studio.example"}});
  EXPECT_EQ(get(ini, "daemon", "logpath"), "/srv/logs");
  EXPECT_EQ(get(ini, "daemon", "server"), "https://studio.example");
  EXPECT_EQ(get(ini, "daemon", "pct"), "100%");
  EXPECT_EQ(get(ini, "shotgun", "root"), "/srv");
  EXPECT_TRUE(ini.has("shotgun", "root"));
  EXPECT_FALSE(ini.has("shotgun", "nope"));
  EXPECT_EQ(ini.sections(), (std::vector<std::string>{"daemon", "shotgun"}));
}

TEST(Ini, BadInterpolationIsAnErrorWithTheLine) {
  IniFile ini = parse_ok("[a]\n\nx: %(MISSING_VAR)s\ny: 5%\nz: %(z)s\n");
  auto x = ini.get("a", "x");
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error().line, 3);
  EXPECT_NE(x.error().describe().find("test.conf:3"), std::string::npos);
  EXPECT_FALSE(ini.get("a", "y"));
  EXPECT_FALSE(ini.get("a", "z"));  // a loop
}

TEST(Ini, InterpolationThatMultipliesIsRefusedQuickly) {
  // Ten keys naming the next one eight times: 8^10 copies of "x" if expanded.
  std::string text = "[a]\n";
  for (int k = 0; k < 10; ++k) {
    text += "k" + std::to_string(k) + ": ";
    for (int n = 0; n < 8; ++n) text += "%(k" + std::to_string(k + 1) + ")s";
    text += "\n";
  }
  text += "k10: x\n";
  IniFile ini = parse_ok(text);
  const auto started = std::chrono::steady_clock::now();
  auto v = ini.get("a", "k0");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().describe().find("larger than 1 MiB"), std::string::npos)
      << v.error().describe();
  EXPECT_EQ(get(ini, "a", "k9"), std::string(8, 'x')) << "ordinary references still work";
}

TEST(Ini, StructuralErrorsNameTheLine) {
  struct Case {
    const char* text;
    int line;
  };
  for (Case c : {Case{"key: outside\n", 1}, Case{"[a]\nno delimiter here\n", 2},
                 Case{"[a]\nx: 1\nX = 2\n", 3}, Case{"[a]\n[a]\n", 2}, Case{"[a\n", 1}}) {
    auto ini = IniFile::parse(c.text, "f.conf", {});
    ASSERT_FALSE(ini) << c.text;
    EXPECT_EQ(ini.error().line, c.line) << c.text;
  }
}

TEST(Ini, MissingKeyIsNotAnError) {
  IniFile ini = parse_ok("[a]\n");
  auto v = ini.get("a", "x");
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->has_value());
  EXPECT_FALSE(ini.get("nosection", "x")->has_value());
}

TEST(Ini, Booleans) {
  for (const char* t : {"1", "yes", "True", "ON"}) EXPECT_EQ(IniFile::parse_bool(t), true) << t;
  for (const char* f : {"0", "no", "False", "off"}) EXPECT_EQ(IniFile::parse_bool(f), false) << f;
  EXPECT_EQ(IniFile::parse_bool("maybe"), std::nullopt);
}

TEST(Ini, CrLfAndBom) {
  IniFile ini = parse_ok("\xEF\xBB\xBF[a]\r\nx = 1\r\n");
  EXPECT_EQ(get(ini, "a", "x"), "1");
}

TEST(IniFile, ParsingIsLinearInTheNumberOfKeysAndSections) {
  // 500,000 keys in one section and 20,000 sections: a search per key or section made this
  // quadratic (50,000 keys took 6 s, 500,000 would take ten minutes). The bound is generous
  // for a sanitizer build; a quadratic parse misses it by minutes.
  std::string text = "[big]\n";
  for (int i = 0; i < 500'000; ++i) text += "key" + std::to_string(i) + " = value\n";
  for (int i = 0; i < 20'000; ++i) text += "[s" + std::to_string(i) + "]\nk = v\n";
  const auto start = std::chrono::steady_clock::now();
  auto ini = IniFile::parse(text, "big.conf", {});
  ASSERT_TRUE(ini) << ini.error().describe();
  EXPECT_EQ(ini->keys("big").size(), 500'000u);
  EXPECT_EQ(get(*ini, "big", "key499999"), "value");
  EXPECT_EQ(get(*ini, "s19999", "k"), "v");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  // Duplicates are still found.
  auto twice = IniFile::parse(text + "[s5]\n", "big.conf", {});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("[s5] appears twice"), std::string::npos);
}

}  // namespace
}  // namespace sgeventd::config
