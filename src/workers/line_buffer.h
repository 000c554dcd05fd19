// Splits a byte stream into '\n'-terminated lines with a bound on line length, so a worker
// that never ends its line cannot make the daemon buffer without limit.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace sgeventd::workers {

// The protocol's bound on one message (docs/plugin-protocol.md, Transport).
inline constexpr std::size_t kMaxLineBytes = std::size_t{16} << 20;

class LineBuffer {
 public:
  explicit LineBuffer(std::size_t max_line = kMaxLineBytes) : max_line_(max_line) {}

  // Appends bytes read from the stream.
  void append(std::string_view bytes);
  // Room to read into directly: returns a pointer to `n` writable bytes at the end; call
  // commit() with how many were filled. Saves a copy per read on the hot path.
  char* prepare(std::size_t n);
  void commit(std::size_t n);

  enum class Next { kLine, kNone, kTooLong };
  // The next complete line without its '\n' (valid until the next call that changes the
  // buffer). kTooLong when more than max_line bytes arrived without a newline.
  Next next(std::string_view& line);
  // What is left without a newline (for the last words of a stream at EOF); clears it.
  std::string take_rest();
  std::size_t buffered() const { return end_ - start_; }

 private:
  // A raw buffer, not a std::string: growing a string zero-fills it, and a 64 KiB memset per
  // read was the largest single cost of reading results.
  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t start_ = 0;    // first unconsumed byte
  std::size_t end_ = 0;      // one past the last byte read
  std::size_t scanned_ = 0;  // bytes from start_ known to hold no '\n'
  std::size_t max_line_;
};

}  // namespace sgeventd::workers
