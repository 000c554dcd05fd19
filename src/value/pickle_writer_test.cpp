// The protocol 2 writer read back by the safe reader, and the reader's plain-data view.
// (Python itself loads what the writer makes: tests/daemon/test_authoring_kit.py.)
#include "value/pickle_writer.h"

#include <gtest/gtest.h>

#include "value/pickle_reader.h"

namespace sgeventd::pickle {
namespace {

using namespace std::string_literals;

Value round_trip(const Value& v) {
  auto bytes = pickle_value(v);
  EXPECT_TRUE(bytes) << bytes.error();
  auto graph = unpickle(*bytes);
  EXPECT_TRUE(graph) << graph.error();
  EXPECT_EQ(graph->protocol, 2);
  auto back = to_value(*graph);
  EXPECT_TRUE(back) << back.error();
  return back ? *back : Value("<failed>");
}

TEST(PickleWriter, EveryKindOfPlainDataComesBackTheSame) {
  const Value v = Dict{{"none", nullptr},
                       {"yes", true},
                       {"no", false},
                       {"ints", List{0, 255, 256, 65535, 65536, -1, -2147483648LL, 2147483647LL,
                                     2147483648LL, -9007199254740993LL}},
                       {"floats", List{0.0, -1.5, 1e300, 0.1}},
                       {"text", "Shot Code \xc3\xa9\xe2\x9c\x93"},
                       {"empty", ""},
                       {"nested", Dict{{"data_type", Dict{{"value", "text"}, {"editable", false}}},
                                       {"list", List{}}}}};
  EXPECT_EQ(round_trip(v), v);
}

TEST(PickleWriter, LongListsAndDictsAreBatchedAndStillWhole) {
  List items;
  Dict fields;
  for (int i = 0; i < 2500; ++i) {
    items.emplace_back(i);
    fields.append("f" + std::to_string(i), i);
  }
  EXPECT_EQ(round_trip(Value(items)), Value(items));
  EXPECT_EQ(round_trip(Value(fields)), Value(fields));
}

TEST(PickleWriter, DatesAreRefusedNotGuessed) {
  auto bytes = pickle_value(Dict{{"when", Date{2026, 12, 3}}});
  ASSERT_FALSE(bytes);
  EXPECT_NE(bytes.error().find("when"), std::string::npos) << bytes.error();
}

TEST(PickleToValue, ReadsBinFloatAndTuplesAsLists) {
  // (1.5, "x") pickled by Python 3 with protocol 2: BINFLOAT is big-endian.
  const std::string bytes = "\x80\x02G?\xf8\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00x\x86q\x00."s;
  auto g = unpickle(bytes);
  ASSERT_TRUE(g) << g.error();
  auto v = to_value(*g);
  ASSERT_TRUE(v) << v.error();
  EXPECT_EQ(*v, Value(List{1.5, "x"}));
}

TEST(PickleToValue, RefusesWhatPlainDataCannotHold) {
  // {b"k": 1}: a bytes key.
  auto g = unpickle("\x80\x03}C\x01kK\x01s."s);
  ASSERT_TRUE(g) << g.error();
  auto v = to_value(*g);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().find("bytes"), std::string::npos) << v.error();
}

TEST(PickleToValue, SharedReferencesCannotExpandWithoutEnd) {
  // l0 = []; l1 = [l0, l0]; ... each level doubles what plain data would copy: 2^60 leaves.
  std::string bytes =
      "\x80\x02]q\x00"
      "0"s;  // made, memoized, popped
  for (int i = 1; i <= 60; ++i) {
    bytes += "(h"s + static_cast<char>(i - 1) + "h"s + static_cast<char>(i - 1) + "lq"s +
             static_cast<char>(i) + "0"s;
  }
  bytes += "h<."s;  // memo 60 ('<')
  auto g = unpickle(bytes);
  ASSERT_TRUE(g) << g.error();
  auto v = to_value(*g);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().find("more than"), std::string::npos) << v.error();
}

TEST(PickleToValue, ACycleIsAnErrorNotARecursionWithoutEnd) {
  // l = []; l.append(l)
  auto g = unpickle(
      "\x80\x02]q\x00"
      "h\x00"
      "a."s);
  ASSERT_TRUE(g) << g.error();
  auto v = to_value(*g);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().find("cycle"), std::string::npos) << v.error();
}

}  // namespace
}  // namespace sgeventd::pickle
