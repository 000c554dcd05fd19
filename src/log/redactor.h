// Keeps secrets out of every log line and alert mail: script keys, passwords and session
// tokens are registered once, and every sink replaces them with "********" before writing.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sgeventd::log {

class Redactor {
 public:
  static constexpr std::string_view kMask = "********";
  // A secret this long is masked wherever it appears; a shorter one only as a whole token (not
  // glued to a letter, digit or '_' on a side where it has one), so a short password does not
  // mangle the words that contain it.
  static constexpr std::size_t kAnywhereLength = 12;

  // Registers a secret. Its URL-encoded and JSON-escaped spellings are registered too, since
  // that is how a key shows up in a request URL or body that ends up in a message. Empty
  // strings are ignored; every other length is honoured (a one-letter password masks that
  // letter wherever it stands alone).
  void add(std::string_view secret);

  // The text with every registered secret replaced by kMask (longest secrets first).
  std::string redact(std::string_view text) const;

  bool empty() const;

 private:
  void add_one(std::string secret);

  mutable std::shared_mutex mutex_;
  std::vector<std::string> secrets_;  // longest first
};

}  // namespace sgeventd::log
