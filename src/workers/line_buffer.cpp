#include "workers/line_buffer.h"

#include <cstring>

namespace sgeventd::workers {

void LineBuffer::append(std::string_view bytes) {
  char* p = prepare(bytes.size());
  std::memcpy(p, bytes.data(), bytes.size());
  commit(bytes.size());
}

char* LineBuffer::prepare(std::size_t n) {
  // Move the unconsumed bytes to the front before growing (each byte moves O(1) times on
  // average: only when the consumed prefix is at least what is left).
  if (start_ > 0 && (start_ == end_ || end_ + n > capacity_)) {
    std::memmove(data_.get(), data_.get() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  // A buffer that grew for one huge line gives the memory back once it is empty again.
  constexpr std::size_t kKeep = std::size_t{1} << 20;
  if (end_ == 0 && capacity_ > kKeep && n <= kKeep) {
    data_.reset();
    capacity_ = 0;
  }
  if (end_ + n > capacity_) {
    std::size_t grown = capacity_ == 0 ? n : capacity_;
    while (grown < end_ + n) grown *= 2;
    std::unique_ptr<char[]> bigger(new char[grown]);
    if (end_ > 0) std::memcpy(bigger.get(), data_.get(), end_);
    data_ = std::move(bigger);
    capacity_ = grown;
  }
  return data_.get() + end_;
}

void LineBuffer::commit(std::size_t n) { end_ += n; }

LineBuffer::Next LineBuffer::next(std::string_view& line) {
  const std::size_t from = start_ + scanned_;
  const void* hit = from < end_ ? std::memchr(data_.get() + from, '\n', end_ - from) : nullptr;
  if (hit == nullptr) {
    scanned_ = end_ - start_;
    if (scanned_ > max_line_) return Next::kTooLong;
    return Next::kNone;
  }
  const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(hit) - data_.get());
  if (end - start_ > max_line_) return Next::kTooLong;
  line = std::string_view(data_.get() + start_, end - start_);
  start_ = end + 1;
  scanned_ = 0;
  if (start_ == end_) start_ = end_ = 0;  // empty: next read starts at the front
  return Next::kLine;
}

void LineBuffer::clear() {
  start_ = end_ = scanned_ = 0;
  if (capacity_ > 64 * 1024) {
    data_.reset();
    capacity_ = 0;
  }
}

std::string LineBuffer::take_rest() {
  std::string rest(data_.get() + start_, end_ - start_);
  start_ = end_ = scanned_ = 0;
  return rest;
}

}  // namespace sgeventd::workers
