#include "workers/line_buffer.h"

#include <cstring>

namespace sgeventd::workers {

char* LineBuffer::prepare(std::size_t n) {
  // Compact before growing: consumed bytes at the front are dead weight. Done only when they
  // are at least half the buffer, so each byte is moved O(1) times on average.
  if (start_ > 0 && start_ >= data_.size() / 2) {
    data_.erase(0, start_);
    start_ = 0;
  }
  // A buffer that grew for one huge line gives the memory back once it is empty again.
  if (data_.empty() && data_.capacity() > (std::size_t{1} << 20)) data_.shrink_to_fit();
  filled_ = data_.size();
  data_.resize(filled_ + n);
  return data_.data() + filled_;
}

void LineBuffer::commit(std::size_t n) { data_.resize(filled_ + n); }

LineBuffer::Next LineBuffer::next(std::string_view& line) {
  const std::size_t from = start_ + scanned_;
  const void* hit =
      from < data_.size() ? std::memchr(data_.data() + from, '\n', data_.size() - from) : nullptr;
  if (hit == nullptr) {
    scanned_ = data_.size() - start_;
    if (scanned_ > max_line_) return Next::kTooLong;
    if (start_ == data_.size()) {
      data_.clear();
      start_ = 0;
      scanned_ = 0;
    }
    return Next::kNone;
  }
  const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(hit) - data_.data());
  if (end - start_ > max_line_) return Next::kTooLong;
  line = std::string_view(data_.data() + start_, end - start_);
  start_ = end + 1;
  scanned_ = 0;
  return Next::kLine;
}

std::string LineBuffer::take_rest() {
  std::string rest = data_.substr(start_);
  data_.clear();
  start_ = 0;
  scanned_ = 0;
  return rest;
}

}  // namespace sgeventd::workers
