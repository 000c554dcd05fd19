// The safe unpickler on hand-made opcode sequences: the paths real state files rarely take.
#include "value/pickle_reader.h"

#include <gtest/gtest.h>

namespace sgeventd::pickle {
namespace {

using namespace std::string_literals;

const std::string kDatetimeState = "\x07\xe8\x03\x04\x05\x06\x07\x0d\x95\x0b"s;

TEST(PickleReader, ReadsScalarsAndContainers) {
  // (None, 1, True, False, -1, 300, 70000, [1], {"k": b"v"})
  const std::string bytes = "\x80\x04(NK\x01\x88\x89J\xff\xff\xff\xffM\x2c\x01J\x70\x11\x01\x00"s +
                            "]K\x01"s + "a}\x8c\x01"s + "kC\x01"s + "vst."s;
  auto g = unpickle(bytes);
  ASSERT_TRUE(g) << g.error();
  const Object& t = g->root_object();
  ASSERT_EQ(t.type, Object::Type::kTuple);
  ASSERT_EQ(t.items.size(), 9u);
  EXPECT_EQ(g->at(t.items[0]).type, Object::Type::kNone);
  EXPECT_EQ(g->at(t.items[1]).integer, 1);
  EXPECT_TRUE(g->at(t.items[2]).boolean);
  EXPECT_FALSE(g->at(t.items[3]).boolean);
  EXPECT_EQ(g->at(t.items[4]).integer, -1);
  EXPECT_EQ(g->at(t.items[5]).integer, 300);
  EXPECT_EQ(g->at(t.items[6]).integer, 70000);
  EXPECT_EQ(g->at(t.items[7]).type, Object::Type::kList);
  const Object& d = g->at(t.items[8]);
  ASSERT_EQ(d.type, Object::Type::kDict);
  ASSERT_EQ(d.entries.size(), 1u);
  EXPECT_EQ(g->at(d.entries[0].first).text, "k");
  EXPECT_EQ(g->at(d.entries[0].second).type, Object::Type::kBytes);
  EXPECT_EQ(g->at(d.entries[0].second).text, "v");
}

TEST(PickleReader, LongsUpTo64Bits) {
  auto neg = unpickle("\x80\x04\x8a\x02\x00\xff."s);  // LONG1 -256
  ASSERT_TRUE(neg) << neg.error();
  EXPECT_EQ(neg->root_object().integer, -256);
  auto big = unpickle("\x80\x04\x8a\x09\x01\x00\x00\x00\x00\x00\x00\x00\x01."s);  // 2**64 + 1
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().find("too large"), std::string::npos);
}

TEST(PickleReader, DatetimeByNewObj) {
  const std::string p =
      "\x80\x04\x8c\x08"
      "datetime\x8c\x08"
      "datetime\x93"s +
      "C\x0a"s + kDatetimeState + "\x85\x81."s;
  auto g = unpickle(p);
  ASSERT_TRUE(g) << g.error();
  ASSERT_EQ(g->root_object().type, Object::Type::kDateTime);
  EXPECT_EQ(g->root_object().datetime, (NaiveDateTime{2024, 3, 4, 5, 6, 7, 890123}));
}

TEST(PickleReader, RefusesEveryOtherGlobal) {
  for (const std::string& p : {"\x80\x02"
                               "cos\nsystem\n."s,
                               "\x80\x04\x8c\x08"
                               "builtins\x8c\x04"
                               "eval\x93."s,
                               "\x80\x02"
                               "cdatetime\ntimezone\n."s,
                               "\x80\x02"
                               "csubprocess\nPopen\n."s}) {
    auto g = unpickle(p);
    ASSERT_FALSE(g);
    EXPECT_NE(g.error().find("refusing global"), std::string::npos) << g.error();
  }
}

TEST(PickleReader, RefusesOpcodesPlainDataNeverHolds) {
  // Protocol 0's FLOAT, BUILD, protocol 0's INT, persistent ids. (BINFLOAT is read: schemas
  // hold floats.)
  for (const std::string& p : {"\x80\x04"
                               "F1.0\n."s,
                               "\x80\x04}}b."s, "\x80\x02I1\n."s, "\x80\x02Q."s}) {
    auto g = unpickle(p);
    ASSERT_FALSE(g) << p.size();
  }
}

TEST(PickleReader, RefusesProtocolsOutsideTwoToFive) {
  EXPECT_FALSE(unpickle("\x80\x06N."s));
  EXPECT_FALSE(unpickle("(dp0\n."s));  // protocol 0
}

TEST(PickleReader, ASelfContainingListIsNoProblem) {
  // l = []; l.append(l)
  auto g = unpickle("\x80\x04]\x94h\x00"s + "a."s);
  ASSERT_TRUE(g) << g.error();
  EXPECT_EQ(g->root_object().items.size(), 1u);
  EXPECT_EQ(g->root_object().items[0], g->root);
}

TEST(PickleReader, StackMistakesAreErrors) {
  for (const std::string& p : {"\x80\x04s."s, "\x80\x04u."s, "\x80\x04NN."s, "\x80\x04."s,
                               "\x80\x04h\x05."s, "\x80\x04NR."s}) {
    EXPECT_FALSE(unpickle(p));
  }
}

}  // namespace
}  // namespace sgeventd::pickle
