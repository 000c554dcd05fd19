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

  // Registers a secret. Its URL-encoded and JSON-escaped spellings are registered too, since
  // that is how a key shows up in a request URL or body that ends up in a message. Empty
  // strings are ignored; every other length is honoured (a one-letter password masks every
  // occurrence of that letter: better unreadable than leaked).
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
