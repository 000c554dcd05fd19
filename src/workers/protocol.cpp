#include "sgeventd/workers/protocol.h"

#include <cctype>
#include <charconv>
#include <string>

#include "sgeventd/json.h"

namespace sgeventd::workers {
namespace {

const JsonWriteOptions kWire{JsonStyle::Compact, true};

void append_string(std::string& out, std::string_view text) {
  append_json(out, Value(text), kWire);
}

// Field readers: a missing or mistyped required key is a protocol error naming the key.
struct Reader {
  const Dict& d;
  std::string type;
  std::string problem;

  bool fail(std::string_view key, std::string_view want) {
    if (problem.empty()) {
      problem = type + ": \"" + std::string(key) + "\" must be " + std::string(want);
    }
    return false;
  }
  bool uint(std::string_view key, std::uint64_t& out) {
    auto v = d.get(key).if_int();
    if (!v || *v < 0) return fail(key, "a non-negative integer");
    out = static_cast<std::uint64_t>(*v);
    return true;
  }
  bool integer(std::string_view key, int& out, bool required = true) {
    const Value& v = d.get(key);
    if (v.is_null() && !required) return true;
    auto i = v.if_int();
    if (!i) return fail(key, "an integer");
    out = static_cast<int>(*i);
    return true;
  }
  bool string(std::string_view key, std::string& out, bool required = true) {
    const Value& v = d.get(key);
    if (v.is_null() && !required) return true;
    if (!v.is_string()) return fail(key, "a string");
    out = v.as_string();
    return true;
  }
  bool boolean(std::string_view key, bool& out, bool required = true) {
    const Value& v = d.get(key);
    if (v.is_null() && !required) return true;
    if (!v.is_bool()) return fail(key, "true or false");
    out = v.as_bool();
    return true;
  }
  // An optional list of strings (absent = empty).
  bool strings(std::string_view key, std::vector<std::string>& out) {
    const Value& v = d.get(key);
    if (v.is_null()) return true;
    const List* list = v.if_list();
    if (!list) return fail(key, "a list of strings");
    for (const auto& item : *list) {
      const std::string* text = item.if_string();
      if (!text) return fail(key, "a list of strings");
      out.push_back(*text);
    }
    return true;
  }
  bool number(std::string_view key, double& out) {
    const Value& v = d.get(key);
    if (v.is_null()) return true;
    if (v.is_int()) {
      out = static_cast<double>(v.as_int());
    } else if (v.is_float()) {
      out = v.as_float();
    } else {
      return fail(key, "a number");
    }
    return true;
  }
};

::sgeventd::Expected<WorkerMessage, std::string> parse_loaded(Reader& r) {
  Loaded m;
  r.string("plugin", m.plugin);
  const Value& emails = r.d.get("emails");
  if (emails.is_null()) {
    m.emails = true;
  } else if (emails.is_bool()) {
    m.emails = emails;
  } else if (emails.is_string()) {
    m.emails = List{emails};
  } else if (const List* list = emails.if_list()) {
    for (const auto& e : *list) {
      if (!e.is_string()) r.fail("emails", "true, false or a list of addresses");
    }
    m.emails = emails;
  } else {
    r.fail("emails", "true, false or a list of addresses");
  }
  const List* callbacks = r.d.get("callbacks").if_list();
  if (!callbacks) {
    r.fail("callbacks", "a list");
  } else {
    for (const auto& c : *callbacks) {
      const Dict* cd = c.if_dict();
      if (!cd) {
        r.fail("callbacks", "a list of objects");
        break;
      }
      Reader cr{*cd, r.type + " callback", {}};
      CallbackInfo info;
      cr.integer("index", info.index);
      cr.string("name", info.name, false);
      info.match_events = cd->get("match_events");
      cr.boolean("stop_on_error", info.stop_on_error, false);
      cr.string("script_name", info.script_name, false);
      if (!cr.problem.empty()) return tl::unexpected(cr.problem);
      m.callbacks.push_back(std::move(info));
    }
  }
  r.strings("secrets", m.secrets);
  if (!r.problem.empty()) return tl::unexpected(r.problem);
  return m;
}

::sgeventd::Expected<WorkerMessage, std::string> parse_result(Reader& r) {
  Result m;
  r.uint("seq", m.seq);
  const List* results = r.d.get("results").if_list();
  if (!results) {
    r.fail("results", "a list");
  } else {
    m.results.reserve(results->size());
    for (const auto& item : *results) {
      const Dict* rd = item.if_dict();
      if (!rd) {
        r.fail("results", "a list of objects");
        break;
      }
      Reader rr{*rd, "result entry", {}};
      CallbackResult cb;
      rr.string("plugin", cb.plugin);
      rr.integer("index", cb.index);
      rr.boolean("ok", cb.ok);
      rr.number("duration_ms", cb.duration_ms);
      rr.number("started", cb.started);
      rr.string("error", cb.error, false);
      rr.string("traceback", cb.traceback, false);
      rr.boolean("skipped", cb.skipped, false);
      // "locals" is free text for people; accept any JSON and keep it as text.
      const Value& locals = rd->get("locals");
      if (locals.is_string()) {
        cb.locals = locals.as_string();
      } else if (!locals.is_null()) {
        cb.locals = to_json(locals, kWire);
      }
      if (!rr.problem.empty()) return tl::unexpected(rr.problem);
      m.results.push_back(std::move(cb));
    }
  }
  if (!r.problem.empty()) return tl::unexpected(r.problem);
  return m;
}

// A cursor over one line for the result fast path. Every method fails (false) rather than
// guess, so anything unusual falls back to the general parser.
struct Scan {
  std::string_view t;
  std::size_t i = 0;

  void ws() {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n')) ++i;
  }
  bool lit(char c) {
    ws();
    if (i >= t.size() || t[i] != c) return false;
    ++i;
    return true;
  }
  bool peek(char c) {
    ws();
    return i < t.size() && t[i] == c;
  }
  // A string of printable ASCII without escapes.
  bool str(std::string_view& out) {
    if (!lit('"')) return false;
    const std::size_t start = i;
    while (i < t.size() && t[i] != '"') {
      const auto c = static_cast<unsigned char>(t[i]);
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++i;
    }
    if (i >= t.size()) return false;
    out = t.substr(start, i - start);
    ++i;
    return true;
  }
  std::string_view number_token() {
    ws();
    const std::size_t start = i;
    while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '-' ||
                            t[i] == '+' || t[i] == '.' || t[i] == 'e' || t[i] == 'E')) {
      ++i;
    }
    return t.substr(start, i - start);
  }
  bool integer(std::int64_t& out) {
    const auto tok = number_token();
    if (tok.empty() || tok.find_first_of(".eE+") != std::string_view::npos) return false;
    if (tok.size() > 1 && (tok[0] == '0' || (tok[0] == '-' && tok[1] == '0'))) return false;
    auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), out);
    return ec == std::errc() && end == tok.data() + tok.size();
  }
  // JSON's number grammar, -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?: from_chars alone
  // takes "01", "1." or "-.5", which the general parser refuses (the two must agree).
  static bool json_number(std::string_view tok) {
    std::size_t k = 0;
    const auto digits = [&] {
      const std::size_t from = k;
      while (k < tok.size() && std::isdigit(static_cast<unsigned char>(tok[k]))) ++k;
      return k > from;
    };
    if (k < tok.size() && tok[k] == '-') ++k;
    if (k < tok.size() && tok[k] == '0') {
      ++k;
    } else if (!digits()) {
      return false;
    }
    if (k < tok.size() && tok[k] == '.') {
      ++k;
      if (!digits()) return false;
    }
    if (k < tok.size() && (tok[k] == 'e' || tok[k] == 'E')) {
      ++k;
      if (k < tok.size() && (tok[k] == '+' || tok[k] == '-')) ++k;
      if (!digits()) return false;
    }
    return k == tok.size();
  }
  bool number(double& out) {
    const auto tok = number_token();
    if (!json_number(tok)) return false;
    if (tok.find_first_of(".eE") == std::string_view::npos) {
      // An integer the general parser may not take (past 64 bits): leave it to that parser.
      std::int64_t whole = 0;
      auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), whole);
      if (ec != std::errc() || end != tok.data() + tok.size()) return false;
    }
    auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), out);
    return ec == std::errc() && end == tok.data() + tok.size();
  }
  bool boolean(bool& out) {
    ws();
    if (t.substr(i, 4) == "true") {
      i += 4;
      out = true;
      return true;
    }
    if (t.substr(i, 5) == "false") {
      i += 5;
      out = false;
      return true;
    }
    return false;
  }
};

bool scan_entry(Scan& s, CallbackResult& cb) {
  if (!s.lit('{')) return false;
  bool plugin = false, index = false, ok = false;
  if (!s.peek('}')) {
    do {
      std::string_view key;
      if (!s.str(key) || !s.lit(':')) return false;
      if (key == "plugin") {
        std::string_view v;
        if (plugin || !s.str(v)) return false;
        cb.plugin = std::string(v);
        plugin = true;
      } else if (key == "index") {
        std::int64_t v = 0;
        if (index || !s.integer(v)) return false;
        cb.index = static_cast<int>(v);
        index = true;
      } else if (key == "ok") {
        if (ok || !s.boolean(cb.ok)) return false;
        ok = true;
      } else if (key == "duration_ms") {
        if (!s.number(cb.duration_ms)) return false;
      } else if (key == "started") {
        if (!s.number(cb.started)) return false;
      } else {
        return false;  // error, traceback, locals, anything new: the general path
      }
    } while (s.lit(','));
  }
  return s.lit('}') && plugin && index && ok;
}

}  // namespace

std::string encode_hello(const HelloInfo& hello) {
  Dict worker{{"id", hello.worker_id}, {"per", hello.worker_per}};
  Dict msg{{"type", "hello"},    {"protocol", kProtocolVersion}, {"daemon", hello.daemon},
           {"site", hello.site}, {"config", hello.config},       {"worker", worker}};
  if (hello.timing) msg.set("timing", true);
  return to_json(msg, kWire);
}

std::string encode_load(const PluginRef& plugin) {
  Dict ref{{"name", plugin.name}, {"path", plugin.path}};
  if (!plugin.completions.empty()) {
    ref.set("completions", Dict{{"path", plugin.completions}});
  }
  Dict msg{{"type", "load"}, {"plugin", std::move(ref)}};
  return to_json(msg, kWire);
}

std::string encode_event(std::uint64_t seq, bool late, std::string_view event_json,
                         const std::vector<CallbackRef>& callbacks) {
  std::string out;
  append_event(out, seq, late, event_json, callbacks);
  return out;
}

void append_event(std::string& out, std::uint64_t seq, bool late, std::string_view event_json,
                  const std::vector<CallbackRef>& callbacks) {
  // Built by hand around the pre-serialized event: this runs once per event per worker.
  out.reserve(out.size() + event_json.size() + 64 + callbacks.size() * 32);
  out += R"({"type":"event","seq":)";
  out += std::to_string(seq);
  out += late ? R"(,"late":true,"event":)" : R"(,"late":false,"event":)";
  out += event_json;
  out += R"(,"callbacks":[)";
  for (std::size_t i = 0; i < callbacks.size(); ++i) {
    if (i > 0) out += ',';
    out += R"({"plugin":)";
    append_string(out, callbacks[i].plugin);
    out += R"(,"index":)";
    out += std::to_string(callbacks[i].index);
    out += '}';
  }
  out += "]}";
}

std::string encode_ping(std::uint64_t seq) {
  return R"({"type":"ping","seq":)" + std::to_string(seq) + "}";
}

std::string encode_shutdown(std::int64_t grace_ms) {
  return R"({"type":"shutdown","grace_ms":)" + std::to_string(grace_ms) + "}";
}

namespace detail {

std::optional<Result> parse_result_fast(std::string_view line) {
  Scan s{line};
  Result r;
  bool type = false, seq = false, results = false;
  if (!s.lit('{')) return std::nullopt;
  do {
    std::string_view key;
    if (!s.str(key) || !s.lit(':')) return std::nullopt;
    if (key == "type") {
      std::string_view v;
      if (type || !s.str(v) || v != "result") return std::nullopt;
      type = true;
    } else if (key == "seq") {
      std::int64_t v = 0;
      if (seq || !s.integer(v) || v < 0) return std::nullopt;
      r.seq = static_cast<std::uint64_t>(v);
      seq = true;
    } else if (key == "results") {
      if (results || !s.lit('[')) return std::nullopt;
      if (!s.peek(']')) {
        do {
          CallbackResult cb;
          if (!scan_entry(s, cb)) return std::nullopt;
          r.results.push_back(std::move(cb));
        } while (s.lit(','));
      }
      if (!s.lit(']')) return std::nullopt;
      results = true;
    } else {
      return std::nullopt;
    }
  } while (s.lit(','));
  if (!s.lit('}')) return std::nullopt;
  s.ws();
  if (s.i != line.size() || !type || !seq || !results) return std::nullopt;
  return r;
}

}  // namespace detail

::sgeventd::Expected<WorkerMessage, std::string> parse_worker_message(std::string_view line) {
  if (line.substr(0, 16) == R"({"type":"result")") {
    if (auto fast = detail::parse_result_fast(line)) return std::move(*fast);
  }
  auto parsed = parse_json(line);
  if (!parsed) return tl::unexpected("not JSON: " + parsed.error().message);
  const Dict* d = parsed->if_dict();
  if (!d) return tl::unexpected(std::string("not a JSON object"));
  const std::string* type = d->get("type").if_string();
  if (!type) return tl::unexpected(std::string("no \"type\""));
  Reader r{*d, *type, {}};

  if (*type == "result") return parse_result(r);
  if (*type == "log") {
    LogMessage m;
    r.string("plugin", m.plugin, false);
    r.string("logger", m.logger, false);
    r.integer("level", m.level, false);
    r.string("message", m.message);
    r.number("time", m.time);
    if (const auto id = d->get("event_id").if_int(); id && *id > 0) m.event_id = *id;
    if (!r.problem.empty()) return tl::unexpected(r.problem);
    return m;
  }
  if (*type == "pong") {
    Pong m;
    r.uint("seq", m.seq);
    if (!r.problem.empty()) return tl::unexpected(r.problem);
    return m;
  }
  if (*type == "hello") {
    WorkerHello m;
    r.integer("protocol", m.protocol);
    r.string("worker", m.worker, false);
    r.string("runtime", m.runtime, false);
    if (const List* features = r.d.get("features").if_list()) {
      for (const auto& f : *features) {
        if (const std::string* name = f.if_string()) m.features.push_back(*name);
      }
    }
    if (!r.problem.empty()) return tl::unexpected(r.problem);
    return m;
  }
  if (*type == "loaded") return parse_loaded(r);
  if (*type == "load_failed") {
    LoadFailed m;
    r.string("plugin", m.plugin);
    r.string("error", m.error, false);
    r.string("traceback", m.traceback, false);
    r.strings("secrets", m.secrets);
    if (!r.problem.empty()) return tl::unexpected(r.problem);
    return m;
  }
  if (*type == "bye") return Bye{};
  if (*type == "error") {
    ErrorMessage m;
    r.string("message", m.message, false);
    return m;
  }
  return UnknownMessage{*type};
}

}  // namespace sgeventd::workers
