#include "sgeventd/json.h"

#include <gtest/gtest.h>

namespace sgeventd {
namespace {

Value parse_ok(std::string_view text, bool datetimes = false) {
  auto v = parse_json(text, {.datetimes = datetimes});
  EXPECT_TRUE(v.has_value()) << text << ": " << (v ? "" : v.error().message);
  return v ? *v : Value();
}

TEST(Json, WritesLikePythonJsonDumps) {
  Value v = Dict{{"method_name", "read"},
                 {"params", List{Dict{{"a", 1}, {"b", List{true, false, nullptr}}}}},
                 {"uni", "café ✓"},
                 {"esc", "q\"b\\n\n\t\x01"}};
  EXPECT_EQ(to_json(v),
            R"({"method_name": "read", "params": [{"a": 1, "b": [true, false, null]}], )"
            R"("uni": "café ✓", "esc": "q\"b\\n\n\t\u0001"})");
  EXPECT_EQ(to_json(v, {.style = JsonStyle::Compact}),
            R"({"method_name":"read","params":[{"a":1,"b":[true,false,null]}],)"
            R"("uni":"café ✓","esc":"q\"b\\n\n\t\u0001"})");
}

TEST(Json, FloatsLikePythonRepr) {
  const std::pair<double, const char*> cases[] = {
      {1.5, "1.5"},         {1.0, "1.0"},
      {0.1, "0.1"},         {-2.0, "-2.0"},
      {1e16, "1e+16"},      {1e15, "1000000000000000.0"},
      {0.0001, "0.0001"},   {0.00001, "1e-05"},
      {123.456, "123.456"}, {1.5e300, "1.5e+300"},
      {0.0, "0.0"},         {-0.0, "-0.0"},
      {2.5e-7, "2.5e-07"},  {12345678901234567.0, "1.2345678901234568e+16"}};
  for (auto [d, expected] : cases) EXPECT_EQ(to_json(Value(d)), expected) << expected;
}

TEST(Json, DatesAndDatetimes) {
  EXPECT_EQ(to_json(Value(Date{2024, 5, 6})), "\"2024-05-06\"");
  auto dt = DateTime::from_offset(2024, 5, 6, 7, 8, 9, -3 * 3600);
  EXPECT_EQ(to_json(Value(*dt)), "\"2024-05-06T10:08:09Z\"");
  EXPECT_EQ(to_json(Value(*dt), {.convert_datetimes_to_utc = false}), "\"2024-05-06T07:08:09Z\"");
}

TEST(Json, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(to_json(Value(std::string("a\xff"
                                      "b"))),
            "\"a\xEF\xBF\xBD"
            "b\"");
  EXPECT_EQ(to_json(Value(std::string("\xC0\xAF"))), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong
  EXPECT_EQ(to_json(Value(std::string("\xE6\x97\xA5"))), "\"\xE6\x97\xA5\"");
}

TEST(Json, ParsesAllTypes) {
  Value v =
      parse_ok(R"({"a": [1, -2, 3.5, "x", true, false, null, {}], "b": 18446744073709551615})");
  const List& a = v["a"].as_list();
  EXPECT_TRUE(a[0].is_int());
  EXPECT_EQ(a[1], Value(-2));
  EXPECT_TRUE(a[2].is_float());
  EXPECT_EQ(a[3], Value("x"));
  EXPECT_EQ(a[4], Value(true));
  EXPECT_TRUE(a[6].is_null());
  EXPECT_TRUE(a[7].is_dict());
  EXPECT_TRUE(v["b"].is_float());  // beyond int64: kept as a number, not an error
}

TEST(Json, DatetimeConversionIsOptInAndSkipsKeys) {
  const char* text = R"({"2024-01-02T03:04:05Z": "2024-01-02T03:04:05Z", "s": "2024-01-02"})";
  Value plain = parse_ok(text);
  EXPECT_TRUE(plain["2024-01-02T03:04:05Z"].is_string());
  Value converted = parse_ok(text, true);
  EXPECT_TRUE(converted["2024-01-02T03:04:05Z"].is_datetime());
  EXPECT_TRUE(converted["s"].is_string());
}

TEST(Json, RepeatedKeysKeepTheLastValue) {
  Value v = parse_ok(R"({"a": 1, "b": 2, "a": 3})");
  EXPECT_EQ(v.as_dict().size(), 2u);
  EXPECT_EQ(v["a"], Value(3));
}

TEST(Json, RejectsMalformedInput) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "nul", "[1] x", "\"\xff\"", "{\"a\":}",
                          "NaN", "01", "\"\\u12\""}) {
    auto v = parse_json(bad);
    EXPECT_FALSE(v.has_value()) << bad;
  }
}

TEST(Json, DepthIsBounded) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto v = parse_json(deep);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message.find("deep"), std::string::npos);
  std::string ok = std::string(100, '[') + std::string(100, ']');
  EXPECT_TRUE(parse_json(ok).has_value());
  EXPECT_FALSE(parse_json(std::string(100000, '[')).has_value());
  // A parser that saw a deep document still takes a different depth limit afterwards.
  EXPECT_FALSE(parse_json(std::string(20, '[') + std::string(20, ']'), {.max_depth = 10}));
  EXPECT_TRUE(parse_json(std::string(20, '[') + std::string(20, ']')));
}

TEST(Json, LargeAndSmallDocumentsAlternate) {
  // Over 64 KB a document gets a parser of its own (freed after); smaller ones share the
  // thread's. Both must keep working in any order.
  std::string big = "[";
  for (int i = 0; i < 20000; ++i) big += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  big += "]";
  ASSERT_GT(big.size(), std::size_t{64} << 10);
  for (int round = 0; round < 3; ++round) {
    const Value b = parse_ok(big);
    ASSERT_EQ(b.as_list().size(), 20000u);
    EXPECT_EQ(b.as_list()[19999].as_string(), "19999");
    EXPECT_EQ(parse_ok(R"({"a": [1, 2]})")["a"].as_list().size(), 2u);
  }
}

TEST(Json, RoundTrip) {
  const char* text =
      R"({"type": "EventLogEntry", "id": 5, "meta": {"old_value": null, "new_value": 1.25, )"
      R"("added": [{"type": "Asset", "id": 1, "name": "a"}]}, "s": "tab\tquote\""})";
  EXPECT_EQ(to_json(parse_ok(text)), text);
}

}  // namespace
}  // namespace sgeventd
