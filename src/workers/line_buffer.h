// Splits a byte stream into '\n'-terminated lines with a bound on line length, so a worker
// that never ends its line cannot make the daemon buffer without limit.
#pragma once

#include <cstddef>
#include <cstring>
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
  // Splits `chunk` (bytes just read, e.g. into a scratch buffer shared by all workers) into
  // lines and calls on_line(std::string_view) for each; only an unfinished last line is copied
  // into this buffer. So a worker costs the size of its partial line, not a read buffer: what
  // keeps 100 workers cheap. A line longer than max_line returns false (the rest of the chunk
  // is not consumed) unless `split_long`, which hands it over in max_line pieces instead.
  template <class OnLine>
  bool feed(std::string_view chunk, OnLine&& on_line, bool split_long = false) {
    while (!chunk.empty()) {
      const void* hit = std::memchr(chunk.data(), '\n', chunk.size());
      const std::size_t take =
          hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - chunk.data())
              : chunk.size();
      if (buffered() + take > max_line_) {
        if (!split_long) return false;
        const std::size_t room = max_line_ - buffered();
        append(chunk.substr(0, room));
        on_line(std::string_view(data_.get() + start_, end_ - start_));
        clear();
        chunk.remove_prefix(room);
        continue;
      }
      if (!hit) {
        append(chunk);
        break;
      }
      if (buffered() == 0) {
        on_line(chunk.substr(0, take));
      } else {
        append(chunk.substr(0, take));
        on_line(std::string_view(data_.get() + start_, end_ - start_));
        clear();
      }
      chunk.remove_prefix(take + 1);
    }
    return true;
  }
  // What is left without a newline (for the last words of a stream at EOF); clears it.
  std::string take_rest();
  std::size_t buffered() const { return end_ - start_; }
  std::size_t capacity() const { return capacity_; }

 private:
  // Empties the buffer; gives memory back if a long line made it grow.
  void clear();

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
