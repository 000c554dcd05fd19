#include "value/pickle_writer.h"

#include <bit>
#include <cstdint>
#include <cstring>

namespace sgeventd::pickle {
namespace {

// Python's pickle batches APPENDS and SETITEMS by this many; loaders do not care, but a very
// long MARK run costs them a large stack.
constexpr std::size_t kBatch = 1000;

class PickleWriter {
 public:
  std::string out;

  ::sgeventd::Expected<void, std::string> write(const Value& v) {
    switch (v.type()) {
      case Value::Type::Null:
        out += 'N';
        return {};
      case Value::Type::Bool:
        out += static_cast<char>(v.as_bool() ? 0x88 : 0x89);
        return {};
      case Value::Type::Int:
        write_int(v.as_int());
        return {};
      case Value::Type::Float:
        write_float(v.as_float());
        return {};
      case Value::Type::String:
        write_str(v.as_string());
        return {};
      case Value::Type::List:
        return write_list(v.as_list());
      case Value::Type::Dict:
        return write_dict(v.as_dict());
      case Value::Type::Date:
      case Value::Type::DateTime:
        break;
    }
    return tl::unexpected(std::string("a date or datetime cannot be written"));
  }

 private:
  void little_endian(std::uint64_t n, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  }

  void write_str(const std::string& s) {
    out += 'X';  // BINUNICODE: 4-byte little-endian length, UTF-8
    little_endian(s.size(), 4);
    out += s;
  }

  void write_int(std::int64_t n) {
    if (n >= 0 && n < 256) {
      out += 'K';  // BININT1
      little_endian(static_cast<std::uint64_t>(n), 1);
    } else if (n >= 0 && n < 65536) {
      out += 'M';  // BININT2
      little_endian(static_cast<std::uint64_t>(n), 2);
    } else if (n >= INT32_MIN && n <= INT32_MAX) {
      out += 'J';  // BININT: signed 4 bytes
      little_endian(static_cast<std::uint32_t>(static_cast<std::int32_t>(n)), 4);
    } else {
      out += static_cast<char>(0x8a);  // LONG1: 8 bytes of two's complement
      out += static_cast<char>(8);
      little_endian(static_cast<std::uint64_t>(n), 8);
    }
  }

  void write_float(double d) {
    out += 'G';  // BINFLOAT: big-endian IEEE 754
    const auto bits = std::bit_cast<std::uint64_t>(d);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((bits >> (8 * i)) & 0xff);
  }

  ::sgeventd::Expected<void, std::string> write_list(const List& items) {
    out += ']';  // EMPTY_LIST
    for (std::size_t start = 0; start < items.size(); start += kBatch) {
      out += '(';  // MARK
      for (std::size_t i = start; i < items.size() && i < start + kBatch; ++i) {
        if (auto ok = write(items[i]); !ok) return ok;
      }
      out += 'e';  // APPENDS
    }
    return {};
  }

  ::sgeventd::Expected<void, std::string> write_dict(const Dict& entries) {
    out += '}';  // EMPTY_DICT
    std::size_t in_batch = 0;
    for (const auto& [key, value] : entries) {
      if (in_batch == 0) out += '(';
      write_str(key);
      if (auto ok = write(value); !ok) return tl::unexpected(key + ": " + ok.error());
      if (++in_batch == kBatch) {
        out += 'u';  // SETITEMS
        in_batch = 0;
      }
    }
    if (in_batch > 0) out += 'u';
    return {};
  }
};

}  // namespace

::sgeventd::Expected<std::string, std::string> pickle_value(const Value& value) {
  PickleWriter w;
  w.out = "\x80\x02";  // PROTO 2
  if (auto ok = w.write(value); !ok) return tl::unexpected(ok.error());
  w.out += '.';  // STOP
  return std::move(w.out);
}

}  // namespace sgeventd::pickle
