#include "workers/line_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace sgeventd::workers {
namespace {

std::vector<std::string> drain(LineBuffer& b) {
  std::vector<std::string> lines;
  std::string_view line;
  while (b.next(line) == LineBuffer::Next::kLine) lines.emplace_back(line);
  return lines;
}

TEST(LineBuffer, SplitsLinesAcrossReads) {
  LineBuffer b;
  b.append("{\"a\":1}\n{\"b\"");
  EXPECT_EQ(drain(b), std::vector<std::string>{"{\"a\":1}"});
  b.append(":2}\n\n");
  EXPECT_EQ(drain(b), (std::vector<std::string>{"{\"b\":2}", ""}));
  EXPECT_EQ(b.buffered(), 0u);
}

TEST(LineBuffer, PrepareAndCommitReadInPlace) {
  LineBuffer b;
  char* p = b.prepare(100);
  std::memcpy(p, "x\ny", 3);
  b.commit(3);
  EXPECT_EQ(drain(b), std::vector<std::string>{"x"});
  EXPECT_EQ(b.take_rest(), "y");
}

TEST(LineBuffer, TooLongWithoutNewlineIsReported) {
  LineBuffer b(8);
  b.append("12345678");
  std::string_view line;
  EXPECT_EQ(b.next(line), LineBuffer::Next::kNone);  // exactly the limit: still fine
  b.append("9");
  EXPECT_EQ(b.next(line), LineBuffer::Next::kTooLong);
}

TEST(LineBuffer, TooLongLineWithNewlineIsReported) {
  LineBuffer b(4);
  b.append("123456\n");
  std::string_view line;
  EXPECT_EQ(b.next(line), LineBuffer::Next::kTooLong);
}

TEST(LineBuffer, ManySmallReadsKeepTheBufferSmall) {
  LineBuffer b;
  for (int i = 0; i < 100000; ++i) {
    b.append("{\"type\":\"result\"}\n");
    ASSERT_EQ(drain(b).size(), 1u);
  }
  EXPECT_EQ(b.buffered(), 0u);
}

}  // namespace
}  // namespace sgeventd::workers

namespace sgeventd::workers {
namespace {

std::vector<std::string> feed_all(LineBuffer& b, std::initializer_list<std::string_view> chunks,
                                  bool split = false, bool* ok = nullptr) {
  std::vector<std::string> lines;
  for (auto c : chunks) {
    const bool fits = b.feed(
        c, [&](std::string_view l) { lines.emplace_back(l); }, split);
    if (ok) *ok = *ok && fits;
  }
  return lines;
}

TEST(LineBufferFeed, HandsOverLinesAndKeepsOnlyThePartialOne) {
  LineBuffer b;
  EXPECT_EQ(feed_all(b, {"a\nbb\ncc", "c\n", "", "\nd"}), (std::vector<std::string>{
                                                              "a",
                                                              "bb",
                                                              "ccc",
                                                              "",
                                                          }));
  EXPECT_EQ(b.buffered(), 1u);
  EXPECT_EQ(b.take_rest(), "d");
}

TEST(LineBufferFeed, ALineAcrossManyChunks) {
  LineBuffer b;
  EXPECT_TRUE(feed_all(b, {"x", "y", "z"}).empty());
  EXPECT_EQ(feed_all(b, {"\n"}), std::vector<std::string>{"xyz"});
  EXPECT_EQ(b.buffered(), 0u);
}

TEST(LineBufferFeed, TooLongFailsOrSplits) {
  LineBuffer strict(4);
  bool ok = true;
  feed_all(strict, {"12", "345\n"}, false, &ok);
  EXPECT_FALSE(ok);
  LineBuffer exact(4);
  ok = true;
  EXPECT_EQ(feed_all(exact, {"12", "34\n"}, false, &ok), std::vector<std::string>{"1234"});
  EXPECT_TRUE(ok);

  LineBuffer split(4);
  EXPECT_EQ(feed_all(split, {"1234567", "89\nab\n"}, true),
            (std::vector<std::string>{"1234", "5678", "9", "ab"}));
}

TEST(LineBufferFeed, MemoryGoesBackAfterAHugeLine) {
  LineBuffer b;
  const std::string big(1 << 20, 'x');
  feed_all(b, {big});
  EXPECT_GE(b.capacity(), big.size());
  EXPECT_EQ(feed_all(b, {"\n"}).size(), 1u);
  EXPECT_EQ(b.capacity(), 0u);
}

}  // namespace
}  // namespace sgeventd::workers
