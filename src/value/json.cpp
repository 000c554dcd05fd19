#include "sgeventd/json.h"

#include <simdjson.h>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>

namespace sgeventd {
namespace {

// Documents up to this size are parsed with a parser kept per thread (no allocation per
// call); larger ones get their own, freed after the call. A parser keeps buffers of about 14
// times the largest document it has read (simdjson's tape and index), so a thread that once
// read a 500-event page (~400 KB) would pin megabytes for good; a page costs one allocation
// and a few hundred page faults instead, next to a network round trip.
constexpr std::size_t kReusableParserBytes = std::size_t{64} << 10;

Value convert(simdjson::dom::element e, bool datetimes) {
  using Type = simdjson::dom::element_type;
  switch (e.type()) {
    case Type::ARRAY: {
      const simdjson::dom::array array = e.get_array().value_unsafe();
      List list;
      list.reserve(array.size());
      for (simdjson::dom::element child : array) list.push_back(convert(child, datetimes));
      return list;
    }
    case Type::OBJECT: {
      const simdjson::dom::object object = e.get_object().value_unsafe();
      Dict dict;
      dict.reserve(object.size());
      for (simdjson::dom::key_value_pair field : object) {
        dict.append(std::string(field.key), convert(field.value, datetimes));
      }
      dict.deduplicate();  // Python keeps the last of repeated keys
      return dict;
    }
    case Type::INT64:
      return Value(static_cast<long long>(e.get_int64().value_unsafe()));
    case Type::UINT64:
      // Only values above INT64_MAX arrive as unsigned: keep them as numbers.
      return Value(static_cast<double>(e.get_uint64().value_unsafe()));
    case Type::DOUBLE:
      return Value(e.get_double().value_unsafe());
    case Type::STRING: {
      const std::string_view text = e.get_string().value_unsafe();
      if (datetimes && text.size() == 20) {
        if (auto dt = DateTime::parse_wire(text)) return Value(*dt);
      }
      return Value(std::string(text));
    }
    case Type::BOOL:
      return Value(e.get_bool().value_unsafe());
    case Type::NULL_VALUE:
      return Value();
  }
  return Value();
}

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

::sgeventd::Expected<Value, JsonError> parse_json(std::string_view text,
                                                  const JsonParseOptions& options) {
  thread_local simdjson::dom::parser reusable;
  std::optional<simdjson::dom::parser> own;
  simdjson::dom::parser* parser = &reusable;
  if (text.size() > kReusableParserBytes) parser = &own.emplace();
  if (parser->max_depth() != options.max_depth) {
    if (auto error =
            parser->allocate(std::max<std::size_t>(text.size(), 4096), options.max_depth)) {
      return tl::unexpected(JsonError{simdjson::error_message(error), 0});
    }
  }
  // realloc_if_needed: copies the input into a padded buffer (simdjson reads past the end).
  simdjson::dom::element root;
  if (auto error = parser->parse(text.data(), text.size(), true).get(root)) {
    const char* message =
        error == simdjson::DEPTH_ERROR ? "JSON nested too deeply" : simdjson::error_message(error);
    return tl::unexpected(JsonError{message, 0});
  }
  return convert(root, options.datetimes);
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
