#include "sgeventd/json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

namespace sgeventd {
namespace {

// Builds a Value straight from nlohmann's SAX events: one pass, no intermediate DOM.
class ValueBuilder {
 public:
  explicit ValueBuilder(const JsonParseOptions& options) : options_(options) {}

  bool null() { return add(Value()); }
  bool boolean(bool v) { return add(Value(v)); }
  bool number_integer(std::int64_t v) { return add(Value(static_cast<long long>(v))); }
  bool number_unsigned(std::uint64_t v) {
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return add(Value(static_cast<long long>(v)));
    }
    return add(Value(static_cast<double>(v)));
  }
  bool number_float(double v, const std::string& /*text*/) { return add(Value(v)); }
  bool string(std::string& v) {
    if (options_.datetimes && v.size() == 20) {
      if (auto dt = DateTime::parse_wire(v)) return add(Value(*dt));
    }
    return add(Value(std::move(v)));
  }
  bool binary(nlohmann::json::binary_t& /*unused*/) { return fail("binary values are not JSON"); }

  bool start_object(std::size_t /*unknown*/) { return open(Value(Dict())); }
  bool key(std::string& k) {
    keys_.push_back(std::move(k));
    return true;
  }
  bool end_object() {
    stack_.back().as_dict().deduplicate();
    return close();
  }
  bool start_array(std::size_t /*unknown*/) { return open(Value(List())); }
  bool end_array() { return close(); }

  bool parse_error(std::size_t position, const std::string& /*token*/,
                   const nlohmann::json::exception& e) {
    error_ = JsonError{e.what(), position};
    return false;
  }

  tl::expected<Value, JsonError> result() {
    if (error_) return tl::unexpected(*error_);
    if (!done_) return tl::unexpected(JsonError{"incomplete JSON document", 0});
    return std::move(root_);
  }

 private:
  bool fail(std::string message) {
    error_ = JsonError{std::move(message), 0};
    return false;
  }

  bool open(Value container) {
    if (stack_.size() >= options_.max_depth) return fail("JSON nested too deeply");
    stack_.push_back(std::move(container));
    return true;
  }

  bool close() {
    Value done = std::move(stack_.back());
    stack_.pop_back();
    return add(std::move(done));
  }

  bool add(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      done_ = true;
      return true;
    }
    Value& top = stack_.back();
    if (List* list = top.if_list()) {
      list->push_back(std::move(v));
    } else {
      top.as_dict().append(std::move(keys_.back()), std::move(v));
      keys_.pop_back();
    }
    return true;
  }

  const JsonParseOptions& options_;
  std::vector<Value> stack_;
  std::vector<std::string> keys_;
  Value root_;
  bool done_ = false;
  std::optional<JsonError> error_;
};

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t len;
  std::uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      // Copy the longest run of plain ASCII at once.
      std::size_t j = i + 1;
      while (j < s.size()) {
        const auto d = static_cast<unsigned char>(s[j]);
        if (d < 0x20 || d == '"' || d == '\\' || d >= 0x80) break;
        ++j;
      }
      out.append(s.substr(i, j - i));
      i = j;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else if (std::size_t len = utf8_sequence_length(s, i)) {
          out.append(s.substr(i, len));
          i += len;
          continue;
        } else {
          out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not valid UTF-8
        }
    }
    ++i;
  }
  out.push_back('"');
}

// Python's repr(float): the shortest digits that round-trip, in fixed notation when the
// decimal point falls within [-4, 16) digits of the first digit, else exponent notation.
void append_float(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-Infinity" : "Infinity";
    return;
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  const std::size_t e_pos = sci.find('e');
  std::string_view mantissa = sci.substr(0, e_pos);
  std::string_view exponent_text = sci.substr(e_pos + 1);
  if (!exponent_text.empty() && exponent_text[0] == '+') exponent_text.remove_prefix(1);
  int exponent = 0;
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);
  const bool negative = !mantissa.empty() && mantissa[0] == '-';
  if (negative) mantissa.remove_prefix(1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  const int ndigits = static_cast<int>(digits.size());
  const int decpt = exponent + 1;
  if (negative) out.push_back('-');
  if (decpt <= -4 || decpt > 16) {
    out.push_back(digits[0]);
    if (ndigits > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(exponent < 0 ? '-' : '+');
    const int abs_exp = exponent < 0 ? -exponent : exponent;
    if (abs_exp < 10) out.push_back('0');
    out += std::to_string(abs_exp);
  } else if (decpt <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-decpt), '0');
    out += digits;
  } else if (decpt >= ndigits) {
    out += digits;
    out.append(static_cast<std::size_t>(decpt - ndigits), '0');
    out += ".0";
  } else {
    out.append(digits, 0, static_cast<std::size_t>(decpt));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(decpt));
  }
}

class Writer {
 public:
  Writer(std::string& out, const JsonWriteOptions& options) : out_(out), options_(options) {}

  void write(const Value& v, int depth) {
    switch (v.type()) {
      case Value::Type::Null:
        out_ += "null";
        return;
      case Value::Type::Bool:
        out_ += v.as_bool() ? "true" : "false";
        return;
      case Value::Type::Int: {
        char buf[24];
        const auto res = std::to_chars(buf, buf + sizeof buf, v.as_int());
        out_.append(buf, res.ptr);
        return;
      }
      case Value::Type::Float:
        append_float(out_, v.as_float());
        return;
      case Value::Type::String:
        append_string(out_, v.as_string());
        return;
      case Value::Type::Date:
        append_string(out_, v.as_date().to_string());
        return;
      case Value::Type::DateTime:
        append_string(out_, v.as_datetime().to_wire(options_.convert_datetimes_to_utc));
        return;
      case Value::Type::List: {
        const List& list = v.as_list();
        out_.push_back('[');
        for (std::size_t i = 0; i < list.size(); ++i) {
          separator(i, depth + 1);
          write(list[i], depth + 1);
        }
        close(list.empty(), depth);
        out_.push_back(']');
        return;
      }
      case Value::Type::Dict: {
        const Dict& dict = v.as_dict();
        out_.push_back('{');
        std::size_t i = 0;
        for (const auto& [key, item] : dict) {
          separator(i++, depth + 1);
          append_string(out_, key);
          out_ += options_.style == JsonStyle::Compact ? ":" : ": ";
          write(item, depth + 1);
        }
        close(dict.empty(), depth);
        out_.push_back('}');
        return;
      }
    }
  }

 private:
  void separator(std::size_t index, int depth) {
    switch (options_.style) {
      case JsonStyle::Python:
        if (index > 0) out_ += ", ";
        break;
      case JsonStyle::Compact:
        if (index > 0) out_.push_back(',');
        break;
      case JsonStyle::Pretty:
        if (index > 0) out_.push_back(',');
        newline(depth);
        break;
    }
  }

  void close(bool empty, int depth) {
    if (options_.style == JsonStyle::Pretty && !empty) newline(depth);
  }

  void newline(int depth) {
    out_.push_back('\n');
    out_.append(static_cast<std::size_t>(depth) * 2, ' ');
  }

  std::string& out_;
  const JsonWriteOptions& options_;
};

}  // namespace

tl::expected<Value, JsonError> parse_json(std::string_view text, const JsonParseOptions& options) {
  ValueBuilder builder(options);
  try {
    nlohmann::json::sax_parse(text.begin(), text.end(), &builder,
                              nlohmann::json::input_format_t::json, /*strict=*/true);
  } catch (const std::exception& e) {
    // sax_parse reports through parse_error; this catches anything else it throws.
    return tl::unexpected(JsonError{e.what(), 0});
  }
  return builder.result();
}

void append_json(std::string& out, const Value& value, const JsonWriteOptions& options) {
  Writer(out, options).write(value, 0);
}

std::string to_json(const Value& value, const JsonWriteOptions& options) {
  std::string out;
  append_json(out, value, options);
  return out;
}

}  // namespace sgeventd
