#include "value/pickle_reader.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>

namespace sgeventd::pickle {
namespace {

// Opcodes, named as in CPython's Lib/pickle.py.
enum Op : unsigned char {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kDup = '2',
  kNone = 'N',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kBinInt2 = 'M',
  kBinFloat = 'G',
  kBinString = 'T',
  kShortBinString = 'U',
  kBinUnicode = 'X',
  kAppend = 'a',
  kAppends = 'e',
  kBinGet = 'h',
  kLongBinGet = 'j',
  kList = 'l',
  kEmptyList = ']',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kEmptyTuple = ')',
  kSetItems = 'u',
  kDict = 'd',
  kEmptyDict = '}',
  kGlobal = 'c',
  kReduce = 'R',
  kProto = 0x80,
  kNewObj = 0x81,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kLong4 = 0x8b,
  kBinBytes = 'B',
  kShortBinBytes = 'C',
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kBinBytes8 = 0x8e,
  kStackGlobal = 0x93,
  kMemoize = 0x94,
  kFrame = 0x95,
};

constexpr std::size_t kMarkSlot = std::numeric_limits<std::size_t>::max();

// The only callables a shotgunEvents state needs. "__builtin__" is how Python 3 spells builtins
// in protocol 2 (for Python 2 readers).
bool allowed_global(const std::string& module, const std::string& name) {
  if (module == "datetime" && name == "datetime") return true;
  if (module == "_codecs" && name == "encode") return true;
  if ((module == "__builtin__" || module == "builtins") && name == "bytes") return true;
  return false;
}

class Reader {
 public:
  Reader(std::string_view in, const Limits& limits) : in_(in), limits_(limits) {}

  ::sgeventd::Expected<Graph, std::string> run() {
    while (true) {
      if (!error_.empty()) return tl::unexpected(error_);
      op_at_ = pos_;
      auto op = byte();
      if (!op)
        return fail("truncated: no STOP opcode (the file ends at byte " +
                    std::to_string(in_.size()) + ")");
      if (*op == kStop) {
        if (stack_.size() != 1 || stack_.back() == kMarkSlot) {
          return fail("malformed: STOP with " + std::to_string(stack_.size()) +
                      " items on the stack");
        }
        graph_.root = stack_.back();
        return std::move(graph_);
      }
      step(*op);
    }
  }

 private:
  tl::unexpected<std::string> fail(const std::string& what) {
    return tl::unexpected(what + " (at byte " + std::to_string(op_at_) + ")");
  }
  void set_error(const std::string& what) {
    if (error_.empty()) error_ = what + " (at byte " + std::to_string(op_at_) + ")";
  }

  std::optional<unsigned char> byte() {
    if (pos_ >= in_.size()) return std::nullopt;
    return static_cast<unsigned char>(in_[pos_++]);
  }
  // n bytes, or nullopt (and an error) when the input ends first.
  std::optional<std::string_view> take(std::uint64_t n) {
    if (n > in_.size() - pos_) {
      set_error("truncated: needs " + std::to_string(n) + " more bytes, the file has " +
                std::to_string(in_.size() - pos_));
      return std::nullopt;
    }
    std::string_view out = in_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return out;
  }
  std::optional<std::uint64_t> unsigned_le(int n) {
    auto b = take(static_cast<std::uint64_t>(n));
    if (!b) return std::nullopt;
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>((*b)[i]);
    return v;
  }
  std::optional<std::string_view> line() {
    const std::size_t end = in_.find('\n', pos_);
    if (end == std::string_view::npos) {
      set_error("truncated: a GLOBAL name has no end of line");
      return std::nullopt;
    }
    std::string_view out = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return out;
  }

  std::size_t add(Object o) {
    if (graph_.objects.size() >= limits_.max_objects) {
      set_error("too many objects for a state file");
      return 0;
    }
    graph_.objects.push_back(std::move(o));
    return graph_.objects.size() - 1;
  }
  void push(Object o) {
    const std::size_t i = add(std::move(o));
    if (error_.empty()) stack_.push_back(i);
  }
  std::optional<std::size_t> pop() {
    if (stack_.empty() || stack_.back() == kMarkSlot) {
      set_error("malformed: stack underflow");
      return std::nullopt;
    }
    const std::size_t i = stack_.back();
    stack_.pop_back();
    return i;
  }
  std::optional<std::size_t> top() {
    if (stack_.empty() || stack_.back() == kMarkSlot) {
      set_error("malformed: stack underflow");
      return std::nullopt;
    }
    return stack_.back();
  }
  // Everything above the topmost mark, which is removed.
  std::optional<std::vector<std::size_t>> pop_mark() {
    std::size_t m = stack_.size();
    while (m > 0 && stack_[m - 1] != kMarkSlot) --m;
    if (m == 0) {
      set_error("malformed: no MARK on the stack");
      return std::nullopt;
    }
    std::vector<std::size_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m - 1);
    return items;
  }

  void push_int(std::int64_t v) {
    Object o;
    o.type = Object::Type::kInt;
    o.integer = v;
    push(std::move(o));
  }
  void push_text(Object::Type type, std::optional<std::string_view> data) {
    if (!data) return;
    Object o;
    o.type = type;
    o.text = std::string(*data);
    push(std::move(o));
  }
  void push_sequence(Object::Type type, std::vector<std::size_t> items) {
    Object o;
    o.type = type;
    o.items = std::move(items);
    push(std::move(o));
  }
  // LONG1/LONG4: little-endian two's complement of any length; ours must fit 64 bits.
  void push_long(std::optional<std::uint64_t> length) {
    if (!length) return;
    auto b = take(*length);
    if (!b) return;
    if (b->empty()) return push_int(0);
    const bool negative = (static_cast<unsigned char>(b->back()) & 0x80) != 0;
    std::size_t n = b->size();
    // Drop sign-extension bytes beyond 8.
    while (n > 8 && static_cast<unsigned char>((*b)[n - 1]) == (negative ? 0xff : 0x00)) --n;
    if (n > 8) return set_error("an integer too large for a 64-bit event id");
    std::uint64_t v = negative ? ~std::uint64_t{0} : 0;
    for (std::size_t i = n; i-- > 0;) {
      v = (v << 8) | static_cast<unsigned char>((*b)[i]);
    }
    push_int(static_cast<std::int64_t>(v));
  }
  void memo_put(std::uint64_t key) {
    auto t = top();
    if (t) memo_[key] = *t;
  }
  void memo_get(std::optional<std::uint64_t> key) {
    if (!key) return;
    auto it = memo_.find(*key);
    if (it == memo_.end()) return set_error("malformed: memo key " + std::to_string(*key));
    stack_.push_back(it->second);
  }
  void set_items(std::vector<std::size_t> items) {
    if (items.size() % 2 != 0) return set_error("malformed: odd number of dict items");
    auto d = top();
    if (!d) return;
    if (graph_.objects[*d].type != Object::Type::kDict) return set_error("malformed: SETITEMS");
    for (std::size_t i = 0; i < items.size(); i += 2) {
      graph_.objects[*d].entries.emplace_back(items[i], items[i + 1]);
    }
  }
  void append_items(std::vector<std::size_t> items) {
    auto l = top();
    if (!l) return;
    if (graph_.objects[*l].type != Object::Type::kList) return set_error("malformed: APPENDS");
    auto& dest = graph_.objects[*l].items;
    dest.insert(dest.end(), items.begin(), items.end());
  }
  void global(std::string module, std::string name) {
    if (!allowed_global(module, name)) {
      return set_error("refusing global " + module + "." + name +
                       ": a shotgunEvents state file holds only numbers, names and datetimes "
                       "(nothing was executed)");
    }
    Object o;
    o.type = Object::Type::kGlobal;
    o.text = module + "." + name;
    push(std::move(o));
  }
  std::optional<std::string> stack_string() {
    auto i = pop();
    if (!i) return std::nullopt;
    const Object& o = graph_.objects[*i];
    if (o.type != Object::Type::kStr) {
      set_error("malformed: STACK_GLOBAL needs strings");
      return std::nullopt;
    }
    return o.text;
  }
  // callable(*args) for the three allowed callables.
  void reduce() {
    auto args = pop();
    auto callable = pop();
    if (!args || !callable) return;
    const Object& f = graph_.objects[*callable];
    const Object& a = graph_.objects[*args];
    if (f.type != Object::Type::kGlobal) return set_error("malformed: REDUCE on a non-callable");
    if (a.type != Object::Type::kTuple) return set_error("malformed: REDUCE without a tuple");
    const std::vector<std::size_t> argv = a.items;
    if (f.text == "datetime.datetime") return make_datetime(argv);
    if (f.text == "_codecs.encode") return codecs_encode(argv);
    // bytes(): how protocol 2 spells b"".
    if (!argv.empty()) return set_error("unsupported: bytes() with arguments");
    push_text(Object::Type::kBytes, std::string_view());
  }
  void make_datetime(const std::vector<std::size_t>& argv) {
    if (argv.empty() || argv.size() > 2) return set_error("unsupported datetime arguments");
    if (argv.size() == 2 && graph_.objects[argv[1]].type != Object::Type::kNone) {
      return set_error("unsupported: a datetime with a tzinfo (shotgunEvents writes naive ones)");
    }
    const Object& state = graph_.objects[argv[0]];
    if ((state.type != Object::Type::kBytes && state.type != Object::Type::kStr) ||
        state.text.size() != 10) {
      return set_error("unsupported datetime state (expected its 10-byte form)");
    }
    const auto* s = reinterpret_cast<const unsigned char*>(state.text.data());
    NaiveDateTime dt;
    dt.year = s[0] * 256 + s[1];
    dt.month = s[2] & 0x7f;  // the high bit is PEP 495's fold
    dt.day = s[3];
    dt.hour = s[4];
    dt.minute = s[5];
    dt.second = s[6];
    dt.microsecond = (s[7] << 16) | (s[8] << 8) | s[9];
    if (dt.month < 1 || dt.month > 12 || dt.day < 1 || dt.day > 31 || dt.hour > 23 ||
        dt.minute > 59 || dt.second > 59 || dt.microsecond > 999999) {
      return set_error("a datetime with impossible fields");
    }
    Object o;
    o.type = Object::Type::kDateTime;
    o.datetime = dt;
    push(std::move(o));
  }
  // _codecs.encode(text, "latin1"): the text's code points (all < 256) as bytes.
  void codecs_encode(const std::vector<std::size_t>& argv) {
    if (argv.size() != 2 || graph_.objects[argv[0]].type != Object::Type::kStr ||
        graph_.objects[argv[1]].type != Object::Type::kStr ||
        (graph_.objects[argv[1]].text != "latin1" && graph_.objects[argv[1]].text != "latin-1")) {
      return set_error("unsupported _codecs.encode call (only latin1 byte strings)");
    }
    const std::string& utf8 = graph_.objects[argv[0]].text;
    std::string out;
    for (std::size_t i = 0; i < utf8.size(); ++i) {
      const auto c = static_cast<unsigned char>(utf8[i]);
      if (c < 0x80) {
        out.push_back(static_cast<char>(c));
      } else if ((c & 0xe0) == 0xc0 && c <= 0xc3 && i + 1 < utf8.size()) {
        out.push_back(
            static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3f)));
      } else {
        return set_error("malformed latin1 text in _codecs.encode");
      }
    }
    push_text(Object::Type::kBytes, out);
  }

  void step(unsigned char op) {
    switch (op) {
      case kProto: {
        auto v = byte();
        if (!v) return set_error("truncated after PROTO");
        if (*v < 2 || *v > 5) return set_error("unsupported pickle protocol " + std::to_string(*v));
        graph_.protocol = *v;
        return;
      }
      case kFrame:
        (void)unsigned_le(8);  // framing only groups opcodes; nothing to do
        return;
      case kMark:
        stack_.push_back(kMarkSlot);
        return;
      case kPop:
        (void)pop();
        return;
      case kPopMark:
        (void)pop_mark();
        return;
      case kDup:
        if (auto t = top()) stack_.push_back(*t);
        return;
      case kNone:
        return push(Object{});
      case kNewTrue:
      case kNewFalse: {
        Object o;
        o.type = Object::Type::kBool;
        o.boolean = op == kNewTrue;
        return push(std::move(o));
      }
      case kBinInt:
        if (auto v = unsigned_le(4)) {
          push_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(*v)));
        }
        return;
      case kBinFloat:
        if (auto b = take(8)) {
          std::uint64_t bits = 0;
          for (char c : *b) bits = (bits << 8) | static_cast<unsigned char>(c);  // big-endian
          Object o;
          o.type = Object::Type::kFloat;
          o.real = std::bit_cast<double>(bits);
          push(std::move(o));
        }
        return;
      case kBinInt1:
        if (auto v = unsigned_le(1)) push_int(static_cast<std::int64_t>(*v));
        return;
      case kBinInt2:
        if (auto v = unsigned_le(2)) push_int(static_cast<std::int64_t>(*v));
        return;
      case kLong1:
        return push_long(unsigned_le(1));
      case kLong4:
        return push_long(unsigned_le(4));
      case kShortBinUnicode:
        if (auto n = unsigned_le(1)) push_text(Object::Type::kStr, take(*n));
        return;
      case kBinUnicode:
        if (auto n = unsigned_le(4)) push_text(Object::Type::kStr, take(*n));
        return;
      case kBinUnicode8:
        if (auto n = unsigned_le(8)) push_text(Object::Type::kStr, take(*n));
        return;
      // Python 2 str: bytes that Python 2 used for text too.
      case kShortBinString:
      case kShortBinBytes:
        if (auto n = unsigned_le(1)) push_text(Object::Type::kBytes, take(*n));
        return;
      case kBinString:
      case kBinBytes:
        if (auto n = unsigned_le(4)) push_text(Object::Type::kBytes, take(*n));
        return;
      case kBinBytes8:
        if (auto n = unsigned_le(8)) push_text(Object::Type::kBytes, take(*n));
        return;
      case kEmptyTuple:
        return push_sequence(Object::Type::kTuple, {});
      case kTuple:
        if (auto items = pop_mark()) push_sequence(Object::Type::kTuple, std::move(*items));
        return;
      case kTuple1:
      case kTuple2:
      case kTuple3: {
        const std::size_t n = op - kTuple1 + 1u;
        std::vector<std::size_t> items(n);
        for (std::size_t i = n; i-- > 0;) {
          auto v = pop();
          if (!v) return;
          items[i] = *v;
        }
        return push_sequence(Object::Type::kTuple, std::move(items));
      }
      case kEmptyList:
        return push_sequence(Object::Type::kList, {});
      case kList:
        if (auto items = pop_mark()) push_sequence(Object::Type::kList, std::move(*items));
        return;
      case kAppend:
        if (auto v = pop()) append_items({*v});
        return;
      case kAppends:
        if (auto items = pop_mark()) append_items(std::move(*items));
        return;
      case kEmptyDict: {
        Object o;
        o.type = Object::Type::kDict;
        return push(std::move(o));
      }
      case kDict: {
        auto items = pop_mark();
        if (!items) return;
        Object o;
        o.type = Object::Type::kDict;
        push(std::move(o));
        return set_items(std::move(*items));
      }
      case kSetItem: {
        auto v = pop();
        auto k = pop();
        if (v && k) set_items({*k, *v});
        return;
      }
      case kSetItems:
        if (auto items = pop_mark()) set_items(std::move(*items));
        return;
      case kBinPut:
        if (auto k = unsigned_le(1)) memo_put(*k);
        return;
      case kLongBinPut:
        if (auto k = unsigned_le(4)) memo_put(*k);
        return;
      case kMemoize:
        return memo_put(memo_.size());
      case kBinGet:
        return memo_get(unsigned_le(1));
      case kLongBinGet:
        return memo_get(unsigned_le(4));
      case kGlobal: {
        auto module = line();
        if (!module) return;
        auto name = line();
        if (!name) return;
        return global(std::string(*module), std::string(*name));
      }
      case kStackGlobal: {
        auto name = stack_string();
        auto module = stack_string();
        if (name && module) global(*module, *name);
        return;
      }
      case kReduce:
        return reduce();
      case kNewObj: {
        // cls.__new__(cls, *args): only for datetime, which some writers may emit this way.
        auto args = pop();
        auto cls = pop();
        if (!args || !cls) return;
        if (graph_.objects[*cls].type != Object::Type::kGlobal ||
            graph_.objects[*cls].text != "datetime.datetime" ||
            graph_.objects[*args].type != Object::Type::kTuple) {
          return set_error("unsupported NEWOBJ");
        }
        return make_datetime(std::vector<std::size_t>(graph_.objects[*args].items));
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        return set_error(std::string("unsupported pickle opcode ") + hex +
                         " (not something a shotgunEvents state file contains)");
      }
    }
  }

  std::string_view in_;
  Limits limits_;
  std::size_t pos_ = 0;
  std::size_t op_at_ = 0;
  std::string error_;
  Graph graph_;
  std::vector<std::size_t> stack_;
  std::unordered_map<std::uint64_t, std::size_t> memo_;
};

}  // namespace

const char* Object::type_name(Type t) {
  switch (t) {
    case Type::kNone:
      return "None";
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kFloat:
      return "float";
    case Type::kStr:
      return "str";
    case Type::kBytes:
      return "bytes";
    case Type::kTuple:
      return "tuple";
    case Type::kList:
      return "list";
    case Type::kDict:
      return "dict";
    case Type::kDateTime:
      return "datetime";
    case Type::kGlobal:
      return "global";
  }
  return "?";
}

::sgeventd::Expected<Graph, std::string> unpickle(std::string_view bytes, const Limits& limits) {
  if (!looks_like_pickle(bytes)) {
    return tl::unexpected(std::string("not a pickle of protocol 2 or later"));
  }
  return Reader(bytes, limits).run();
}

namespace {

// Depth-first, bounded twice: a memo reference may close a cycle (a list holding itself),
// and objects shared through the memo are copied each time, so a few hundred bytes of
// nested sharing could otherwise expand without end.
struct Expansion {
  const Graph& g;
  std::size_t budget = 5'000'000;  // values made
};

::sgeventd::Expected<Value, std::string> value_of(Expansion& x, std::size_t index, int depth) {
  constexpr int kMaxDepth = 200;
  if (depth > kMaxDepth) {
    return tl::unexpected(std::string("nested deeper than 200 levels (or a cycle)"));
  }
  if (x.budget-- == 0) {
    return tl::unexpected(std::string("expands to more than 5,000,000 values"));
  }
  const Graph& g = x.g;
  const Object& o = g.at(index);
  switch (o.type) {
    case Object::Type::kNone:
      return Value();
    case Object::Type::kBool:
      return Value(o.boolean);
    case Object::Type::kInt:
      return Value(static_cast<long long>(o.integer));
    case Object::Type::kFloat:
      return Value(o.real);
    case Object::Type::kStr:
      return Value(o.text);
    case Object::Type::kTuple:
    case Object::Type::kList: {
      List items;
      items.reserve(o.items.size());
      for (std::size_t i : o.items) {
        auto v = value_of(x, i, depth + 1);
        if (!v) return v;
        items.push_back(std::move(*v));
      }
      return Value(std::move(items));
    }
    case Object::Type::kDict: {
      Dict d;
      d.reserve(o.entries.size());
      for (const auto& [k, v] : o.entries) {
        const Object& key = g.at(k);
        if (key.type != Object::Type::kStr) {
          return tl::unexpected(std::string("a dict key is a ") + Object::type_name(key.type) +
                                ", not a str");
        }
        auto value = value_of(x, v, depth + 1);
        if (!value) return tl::unexpected(key.text + ": " + value.error());
        d.set(key.text, std::move(*value));
      }
      return Value(std::move(d));
    }
    case Object::Type::kBytes:
    case Object::Type::kDateTime:
    case Object::Type::kGlobal:
      break;
  }
  return tl::unexpected(std::string("holds a ") + Object::type_name(o.type) +
                        ", which plain data cannot");
}

}  // namespace

::sgeventd::Expected<Value, std::string> to_value(const Graph& graph) {
  if (graph.objects.empty()) return tl::unexpected(std::string("an empty pickle"));
  Expansion x{graph};
  return value_of(x, graph.root, 0);
}

bool looks_like_pickle(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == kProto;
}

}  // namespace sgeventd::pickle
