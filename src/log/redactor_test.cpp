#include "log/redactor.h"

#include <gtest/gtest.h>

namespace sgeventd::log {
namespace {

TEST(Redactor, NothingRegisteredLeavesTextAlone) {
  Redactor r;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.redact("script key abc"), "script key abc");
}

TEST(Redactor, MasksEveryOccurrence) {
  Redactor r;
  r.add("s3cr3tKey");
  EXPECT_EQ(r.redact("key=s3cr3tKey and again s3cr3tKey."), "key=******** and again ********.");
}

TEST(Redactor, EmptySecretIsIgnored) {
  Redactor r;
  r.add("");
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.redact("text"), "text");
}

TEST(Redactor, LongerSecretsFirst) {
  Redactor r;
  r.add("abc");
  r.add("abcdef");
  EXPECT_EQ(r.redact("x abcdef y abc"), "x ******** y ********");
}

TEST(Redactor, UrlEncodedAndJsonEscapedSpellings) {
  Redactor r;
  r.add("p@ss w\"rd/1");
  EXPECT_EQ(r.redact("password=p%40ss%20w%22rd%2F1&x=1"), "password=********&x=1");
  EXPECT_EQ(r.redact(R"({"password": "p@ss w\"rd/1"})"), R"({"password": "********"})");
}

TEST(Redactor, AShortSecretIsMaskedOnlyAsAWholeToken) {
  Redactor r;
  r.add("pw");
  EXPECT_EQ(r.redact("password=pw, lapwing pwd pw_x x_pw pw"),
            "password=********, lapwing pwd pw_x x_pw ********");
  EXPECT_EQ(r.redact("pw"), "********");
  EXPECT_EQ(r.redact("(pw)\"pw\"'pw'"), "(********)\"********\"'********'");
  r.add("é");  // a multi-byte letter is part of its word too
  EXPECT_EQ(r.redact("café é"), "café ********");
}

TEST(Redactor, ASecretEdgedWithPunctuationNeedsNoBoundaryOnThatSide) {
  Redactor r;
  r.add("!x");
  EXPECT_EQ(r.redact("a!x b!xy"), "a******** b!xy");
}

TEST(Redactor, ALongSecretIsMaskedEvenInsideAWord) {
  Redactor r;
  r.add("0123456789ab");
  EXPECT_EQ(r.redact("key0123456789abcdef"), "key********cdef");
}

TEST(Redactor, AnUnmaskedOccurrenceDoesNotHideALaterOne) {
  Redactor r;
  r.add("ab");
  EXPECT_EQ(r.redact("abab ab"), "abab ********");
}

TEST(Redactor, MaskContainingTheSecretDoesNotLoop) {
  Redactor r;
  r.add("*");
  EXPECT_EQ(r.redact("a*b"), "a********b");
}

}  // namespace
}  // namespace sgeventd::log
