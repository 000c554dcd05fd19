#include "log/redactor.h"

#include <algorithm>
#include <mutex>

namespace sgeventd::log {

namespace {

std::string percent_encoded(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string json_escaped(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Letters, digits, '_' and every byte of a multi-byte UTF-8 character: what a word is made of.
bool is_word_byte(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c >= 0x80;
}

// Whether text[at, at + size) may be masked: a long secret anywhere (no word contains one by
// chance, and a key glued to other characters must still not show); a short one only as a whole
// token, so that the password "pw" masks "password=pw" but leaves "pwd" and "lapwing" alone.
bool maskable_at(std::string_view text, std::size_t at, std::size_t size) {
  if (size >= Redactor::kAnywhereLength) return true;
  const bool starts_word = is_word_byte(static_cast<unsigned char>(text[at]));
  const bool ends_word = is_word_byte(static_cast<unsigned char>(text[at + size - 1]));
  if (starts_word && at > 0 && is_word_byte(static_cast<unsigned char>(text[at - 1]))) return false;
  if (ends_word && at + size < text.size() &&
      is_word_byte(static_cast<unsigned char>(text[at + size]))) {
    return false;
  }
  return true;
}

}  // namespace

void Redactor::add(std::string_view secret) {
  if (secret.empty()) return;
  add_one(std::string(secret));
  add_one(percent_encoded(secret));
  add_one(json_escaped(secret));
}

void Redactor::add_one(std::string secret) {
  std::unique_lock lock(mutex_);
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  secrets_.push_back(std::move(secret));
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::redact(std::string_view text) const {
  std::string out(text);
  std::shared_lock lock(mutex_);
  for (const std::string& secret : secrets_) {
    for (std::size_t at = out.find(secret); at != std::string::npos;) {
      if (maskable_at(out, at, secret.size())) {
        out.replace(at, secret.size(), kMask);
        at = out.find(secret, at + kMask.size());
      } else {
        at = out.find(secret, at + 1);
      }
    }
  }
  return out;
}

bool Redactor::empty() const {
  std::shared_lock lock(mutex_);
  return secrets_.empty();
}

}  // namespace sgeventd::log
