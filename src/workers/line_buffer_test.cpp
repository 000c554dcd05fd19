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
