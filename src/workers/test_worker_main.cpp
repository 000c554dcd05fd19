// sgeventd-test-worker: a worker speaking protocol v1 (docs/plugin-protocol.md) whose
// misbehaviour is chosen on the command line, for the tests, the conformance suite and the
// benchmarks. With no options it is a fast no-op exec plugin with one callback for every event.
// Options can also come from the SGEVENTD_TEST_WORKER environment variable (space separated),
// which is handy inside a .plugin manifest. Event numbers K count events this process got (1 =
// first).
//
//   --callbacks N        register N callbacks (default 1), matchEvents from --match (JSON)
//   --sleep-ms N         take N ms per event
//   --fail-on K          report ok:false for event K (every callback)
//   --crash-on K         abort() on event K        --crash-every   abort() on every event
//   --exit-on K[:CODE]   exit(CODE, default 1) on event K
//   --die-unflushed K    _exit(1) at event K, or the first event after it that comes while
//                        answers are still unwritten (they are lost with the process)
//   --hang-on K          never answer event K (sleeps forever; SIGTERM still works)
//   --ignore-term        ignore SIGTERM (so only SIGKILL ends it)
//   --leak-mb N          allocate and touch N MiB per event, never freed; exit(3) when an
//                        allocation fails
//   --garbage-on K       print a non-JSON line to stdout at event K
//   --exit-at-hello      exit(1) when the hello arrives
//   --no-hello           never answer hello       --load-fail   answer load_failed
//   --protocol N         answer hello with protocol N (a wrong version: error, exit 3)
//   --out-of-order       answer each pair of events in swapped order
//   --log-level N        send a log message at level N for every event
//   --stderr TEXT        write TEXT to stderr for every event
//   --record FILE        append "<event id>\n" to FILE for every event handled
//   --record-suffix-env NAME  record to FILE.<value of NAME> when NAME is set (which of two
//                        daemons sharing a plugin folder delivered an event)
//   --record-hello FILE  write the daemon's hello message (JSON) to FILE
//   --record-replays FILE  append "<event id> <kind>" to FILE for every event that carries
//                        the replay key (a replay or a dead letter's retry)
//   --fail-ids A,B,...   report ok:false every time one of these event ids comes
//   --error TEXT         the error text of --fail-on and --load-fail
//   --no-bye             exit 0 on shutdown without saying bye
//   --secret TEXT        name TEXT in loaded/load_failed "secrets" (repeatable)
//   --stop-on-error      register the callbacks with stopOnError=True (default False)
//   --no-completions     do not offer the "completions" feature (it is on by default: every
//                        event whose callbacks all succeeded is noted in the file `load` names)
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sgeventd/json.h"
#include "workers/completion_log.h"

namespace {

using sgeventd::Dict;
using sgeventd::List;
using sgeventd::Value;

struct Options {
  int callbacks = 1;
  Value match = nullptr;
  int sleep_ms = 0;
  long fail_on = 0, crash_on = 0, exit_on = 0, hang_on = 0, garbage_on = 0, die_unflushed = 0;
  int exit_code = 1;
  bool crash_every = false, ignore_term = false, exit_at_hello = false, no_hello = false;
  bool load_fail = false, out_of_order = false, no_bye = false, stop_on_error = false;
  bool completions = true;
  int protocol = 1;
  int leak_mb = 0;
  int log_level = 0;
  std::string stderr_text, record, record_hello, record_replays;
  // --record-env NAME: at hello, "NAME=<its value>" into <record>.env (what a worker inherits).
  std::string record_env;
  std::string record_suffix;  // --record-suffix-env: appended to `record`
  std::vector<std::int64_t> fail_ids;
  std::string error = "RuntimeError: told to fail";
  std::vector<std::string> secrets;  // --secret: named in loaded/load_failed, as a script key
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "sgeventd-test-worker: %s\n", why.c_str());
  std::exit(2);
}

void parse_options(std::vector<std::string> args, Options& o) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) usage(a + " needs a value");
      return args[++i];
    };
    auto number = [&]() { return std::atol(value().c_str()); };
    if (a == "--callbacks")
      o.callbacks = static_cast<int>(number());
    else if (a == "--match") {
      auto v = sgeventd::parse_json(value());
      if (!v) usage("--match: " + v.error().message);
      o.match = *v;
    } else if (a == "--sleep-ms")
      o.sleep_ms = static_cast<int>(number());
    else if (a == "--fail-on")
      o.fail_on = number();
    else if (a == "--crash-on")
      o.crash_on = number();
    else if (a == "--die-unflushed")
      o.die_unflushed = number();
    else if (a == "--crash-every")
      o.crash_every = true;
    else if (a == "--exit-on") {
      const std::string v = value();
      o.exit_on = std::atol(v.c_str());
      if (auto colon = v.find(':'); colon != std::string::npos) {
        o.exit_code = std::atoi(v.c_str() + colon + 1);
      }
    } else if (a == "--hang-on")
      o.hang_on = number();
    else if (a == "--ignore-term")
      o.ignore_term = true;
    else if (a == "--leak-mb")
      o.leak_mb = static_cast<int>(number());
    else if (a == "--garbage-on")
      o.garbage_on = number();
    else if (a == "--exit-at-hello")
      o.exit_at_hello = true;
    else if (a == "--no-hello")
      o.no_hello = true;
    else if (a == "--load-fail")
      o.load_fail = true;
    else if (a == "--protocol")
      o.protocol = static_cast<int>(number());
    else if (a == "--out-of-order")
      o.out_of_order = true;
    else if (a == "--log-level")
      o.log_level = static_cast<int>(number());
    else if (a == "--stderr")
      o.stderr_text = value();
    else if (a == "--stop-on-error")
      o.stop_on_error = true;
    else if (a == "--record")
      o.record = value();
    else if (a == "--record-suffix-env") {
      const char* suffix = std::getenv(value().c_str());
      if (suffix && *suffix) o.record_suffix = std::string(".") + suffix;
    } else if (a == "--record-hello")
      o.record_hello = value();
    else if (a == "--record-env")
      o.record_env = value();
    else if (a == "--record-replays")
      o.record_replays = value();
    else if (a == "--fail-ids") {
      const std::string list = value();
      for (std::size_t at = 0; at < list.size();) {
        const std::size_t comma = std::min(list.find(',', at), list.size());
        o.fail_ids.push_back(std::atoll(list.substr(at, comma - at).c_str()));
        at = comma + 1;
      }
    } else if (a == "--error")
      o.error = value();
    else if (a == "--no-bye")
      o.no_bye = true;
    else if (a == "--no-completions")
      o.completions = false;
    else if (a == "--secret")
      o.secrets.push_back(value());
    else
      usage("unknown option " + a);
  }
}

const sgeventd::JsonWriteOptions kWire{sgeventd::JsonStyle::Compact, true};

// Index of the character after the JSON value starting at text[i] (which must not be
// whitespace), or npos if it does not end. Strings are skipped escape-aware, containers by
// depth; scalars run to the next ',', '}' or ']'. Validation is parse_json's job: this only
// finds where a value ends.
std::size_t skip_value(std::string_view text, std::size_t i) {
  int depth = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
      if (i >= text.size()) return std::string_view::npos;
      if (depth == 0) return i + 1;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return i;  // end of the enclosing object: a scalar ended here
      if (--depth == 0) return i + 1;
    } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
      return i;
    }
  }
  return depth == 0 ? i : std::string_view::npos;
}

std::size_t skip_space(std::string_view text, std::size_t i) {
  while (i < text.size() &&
         (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) {
    ++i;
  }
  return i;
}

// The top-level members of a JSON object as raw text, without building the values: the
// event in an "event" message is most of the bytes, and a no-op worker never needs it, so
// parsing only the small members keeps the worker's cost per event low. nullopt if the text
// is not an object this scanner can walk (the caller then parses it fully).
std::optional<std::vector<std::pair<std::string_view, std::string_view>>> members(
    std::string_view text) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  std::size_t i = skip_space(text, 0);
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  i = skip_space(text, i + 1);
  if (i < text.size() && text[i] == '}') return out;
  for (;;) {
    if (i >= text.size() || text[i] != '"') return std::nullopt;
    const std::size_t key_end = skip_value(text, i);
    if (key_end == std::string_view::npos) return std::nullopt;
    const std::string_view key = text.substr(i + 1, key_end - i - 2);
    if (key.find('\\') != std::string_view::npos) return std::nullopt;
    i = skip_space(text, key_end);
    if (i >= text.size() || text[i] != ':') return std::nullopt;
    i = skip_space(text, i + 1);
    const std::size_t value_end = skip_value(text, i);
    if (value_end == std::string_view::npos || value_end == i) return std::nullopt;
    out.emplace_back(key, text.substr(i, value_end - i));
    i = skip_space(text, value_end);
    if (i < text.size() && text[i] == ',') {
      i = skip_space(text, i + 1);
      continue;
    }
    if (i < text.size() && text[i] == '}' && skip_space(text, i + 1) == text.size()) return out;
    return std::nullopt;
  }
}

// The event's own "id" (a top-level member), without parsing or even walking the rest (it
// comes first or second): 0 if there is none.
std::int64_t top_level_id(std::string_view text) {
  std::size_t i = skip_space(text, 0);
  if (i >= text.size() || text[i] != '{') return 0;
  i = skip_space(text, i + 1);
  while (i < text.size() && text[i] == '"') {
    const std::size_t key_end = skip_value(text, i);
    if (key_end == std::string_view::npos) return 0;
    const std::string_view key = text.substr(i + 1, key_end - i - 2);
    i = skip_space(text, key_end);
    if (i >= text.size() || text[i] != ':') return 0;
    i = skip_space(text, i + 1);
    const std::size_t value_end = skip_value(text, i);
    if (value_end == std::string_view::npos) return 0;
    if (key == "id") {
      std::int64_t id = 0;
      const auto [end, ec] = std::from_chars(text.data() + i, text.data() + value_end, id);
      return ec == std::errc() && end == text.data() + value_end ? id : 0;
    }
    i = skip_space(text, value_end);
    if (i >= text.size() || text[i] != ',') return 0;
    i = skip_space(text, i + 1);
  }
  return 0;
}

class Worker {
 public:
  explicit Worker(Options o) : o_(std::move(o)) {}

  int run() {
    std::string in;
    std::size_t start = 0;
    char buf[65536];
    for (;;) {
      // Handle every complete line already read, then write the answers in one go: with a
      // pipeline window this answers a batch of events with one write.
      for (;;) {
        const std::size_t nl = in.find('\n', start);
        if (nl == std::string::npos) break;
        const std::string_view line(in.data() + start, nl - start);
        start = nl + 1;
        if (int code = handle(line); code >= 0) {
          flush();
          return code;
        }
      }
      in.erase(0, start);
      start = 0;
      flush();
      const ssize_t n = ::read(0, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 0;  // the daemon is gone: stop (protocol: EOF on stdin)
      in.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  // Returns an exit code to stop with, or -1 to continue.
  int handle(std::string_view line) {
    // Fast path for events: parse the small members, keep the event's text for later.
    if (auto m = members(line)) {
      Dict msg;
      std::string_view event_text;
      bool is_event = false;
      bool ok = true;
      for (const auto& [key, raw] : *m) {
        if (key == "event") {
          event_text = raw;
          continue;
        }
        auto v = sgeventd::parse_json(raw);
        if (!v) {
          ok = false;
          break;
        }
        if (key == "type") is_event = v->is_string() && v->as_string() == "event";
        msg.set(std::string(key), std::move(*v));
      }
      if (ok && is_event) return on_event(Value(std::move(msg)), event_text);
    }
    auto parsed = sgeventd::parse_json(line);
    if (!parsed || !parsed->is_dict()) {
      send_error("not a JSON object");
      return -1;
    }
    const Value& msg = *parsed;
    const std::string* type = msg["type"].if_string();
    if (!type) {
      send_error("no type");
      return -1;
    }
    if (*type == "hello") return on_hello(msg);
    if (*type == "load") return on_load(msg);
    if (*type == "event") return on_event(msg, {});
    if (*type == "ping") {
      emit_held();
      out_ += R"({"type":"pong","seq":)" + std::to_string(msg["seq"].if_int().value_or(0)) + "}\n";
      return -1;
    }
    if (*type == "shutdown") {
      emit_held();
      if (!o_.no_bye) out_ += "{\"type\":\"bye\"}\n";
      return 0;
    }
    send_error("unknown message type \"" + *type + "\"");
    return -1;
  }

  int on_hello(const Value& msg) {
    if (!o_.record_env.empty() && !o_.record.empty()) {
      if (std::FILE* f = std::fopen((o_.record + ".env").c_str(), "w")) {
        const char* v = std::getenv(o_.record_env.c_str());
        std::fprintf(f, "%s=%s\n", o_.record_env.c_str(), v ? v : "");
        std::fclose(f);
      }
    }
    if (!o_.record_hello.empty()) {
      if (std::FILE* f = std::fopen(o_.record_hello.c_str(), "w")) {
        const std::string text = to_json(msg, kWire) + "\n";
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
      }
    }
    if (o_.exit_at_hello) return 1;
    if (o_.no_hello) return -1;
    if (o_.protocol != 1) {
      send_error("this worker speaks protocol " + std::to_string(o_.protocol) + " only");
      return 3;
    }
    Dict hello{{"type", "hello"},
               {"protocol", 1},
               {"worker", "sgeventd-test-worker 0.1.0"},
               {"runtime", "C++"}};
    if (o_.completions) hello.set("features", List{"completions"});
    out_ += to_json(hello, kWire);
    out_ += '\n';
    return -1;
  }

  int on_load(const Value& msg) {
    name_ = msg["plugin"]["name"].if_string() ? msg["plugin"]["name"].as_string() : "test";
    if (const std::string* path = msg["plugin"]["completions"]["path"].if_string()) {
      auto writer = sgeventd::workers::CompletionWriter::open(*path);
      if (writer) {
        completions_ = std::move(*writer);
      } else {
        const std::string text = "cannot note completions: " + writer.error() + "\n";
        [[maybe_unused]] ssize_t w = ::write(2, text.data(), text.size());
      }
    }
    Dict answer;
    if (o_.load_fail) {
      answer = Dict{{"type", "load_failed"},
                    {"plugin", name_},
                    {"error", o_.error + " (--load-fail)"},
                    {"traceback", "Traceback (most recent call last):\n  (test worker)\n"}};
    } else {
      List callbacks;
      for (int i = 0; i < o_.callbacks; ++i) {
        callbacks.push_back(Dict{{"index", i},
                                 {"name", "callback_" + std::to_string(i)},
                                 {"match_events", o_.match},
                                 {"stop_on_error", o_.stop_on_error},
                                 {"script_name", "test_script"}});
      }
      answer =
          Dict{{"type", "loaded"}, {"plugin", name_}, {"emails", false}, {"callbacks", callbacks}};
    }
    if (!o_.secrets.empty()) {
      List named;
      for (const std::string& secret : o_.secrets) named.emplace_back(secret);
      answer.append("secrets", std::move(named));
    }
    out_ += to_json(answer, kWire);
    out_ += '\n';
    return -1;
  }

  // `event_text`: the event's raw JSON when the fast path left it unparsed (msg has no
  // "event" then); parsed only if an option needs the event's id.
  int on_event(const Value& msg, std::string_view event_text) {
    const long k = ++events_;
    const auto seq = msg["seq"].if_int().value_or(0);
    std::int64_t id = msg["event"]["id"].if_int().value_or(0);
    std::string replay_kind;  // the replay key's value, if the event has it
    if (const std::string* kind = msg["event"]["sgeventd_replay"].if_string()) replay_kind = *kind;
    if (!event_text.empty() && (o_.log_level > 0 || !o_.record.empty() ||
                                !o_.record_replays.empty() || !o_.fail_ids.empty())) {
      if (auto event = sgeventd::parse_json(event_text)) {
        id = (*event)["id"].if_int().value_or(0);
        if (const std::string* kind = (*event)["sgeventd_replay"].if_string()) replay_kind = *kind;
      }
    } else if (!event_text.empty() && completions_.is_open()) {
      id = top_level_id(event_text);
    }
    if (o_.crash_every || k == o_.crash_on) {
      flush();
      std::abort();
    }
    if (o_.die_unflushed > 0 && k >= o_.die_unflushed &&
        out_.find("\"result\"") != std::string::npos) {
      ::_exit(1);
    }
    if (k == o_.exit_on) {
      flush();
      std::exit(o_.exit_code);
    }
    if (k == o_.hang_on) {
      flush();
      for (;;) ::pause();
    }
    if (k == o_.garbage_on) out_ += "this is not JSON\n";
    if (o_.leak_mb > 0) {
      const std::size_t bytes = static_cast<std::size_t>(o_.leak_mb) << 20;
      char* p = static_cast<char*>(std::malloc(bytes));
      if (!p) {
        // At the hard cap (RLIMIT_DATA): as the Python worker does, say so and exit, for a
        // fresh process.
        static constexpr char kSaid[] = "out of memory: the allocation failed; exiting\n";
        [[maybe_unused]] ssize_t w = ::write(2, kSaid, sizeof kSaid - 1);
        flush();
        ::_exit(3);
      }
      std::memset(p, 1, bytes);  // touched, so it is resident
      leaked_.push_back(p);
    }
    if (o_.sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o_.sleep_ms));
    if (!o_.stderr_text.empty()) {
      const std::string text = o_.stderr_text + "\n";
      [[maybe_unused]] ssize_t w = ::write(2, text.data(), text.size());
    }
    if (o_.log_level > 0) {
      const double now =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      out_ += to_json(Dict{{"type", "log"},
                           {"plugin", name_},
                           {"logger", "plugin." + name_ + ".callback_0"},
                           {"level", o_.log_level},
                           {"message", "handled event " + std::to_string(id)},
                           {"time", now}},
                      kWire);
      out_ += '\n';
    }
    if (!o_.record.empty()) record(o_.record, std::to_string(id));
    if (!o_.record_replays.empty() && !replay_kind.empty()) {
      record(o_.record_replays, std::to_string(id) + " " + replay_kind);
    }

    const bool ok = k != o_.fail_on &&
                    std::find(o_.fail_ids.begin(), o_.fail_ids.end(), id) == o_.fail_ids.end();
    // Noted before the answer: a kill between the two does not run the event again.
    // A re-drive is never noted (docs/plugin-protocol.md, "Re-drives").
    const bool redrive =
        !replay_kind.empty() || event_text.find("\"sgeventd_replay\"") != std::string_view::npos;
    if (ok && id > 0 && !redrive) completions_.record(id);
    std::string result = R"({"type":"result","seq":)" + std::to_string(seq) + R"(,"results":[)";
    bool first = true;
    if (const List* callbacks = msg["callbacks"].if_list()) {
      for (const auto& cb : *callbacks) {
        if (!first) result += ',';
        first = false;
        result += R"({"plugin":)";
        sgeventd::append_json(result, cb["plugin"], kWire);
        result += R"(,"index":)" + std::to_string(cb["index"].if_int().value_or(0));
        if (ok) {
          result += R"(,"ok":true,"duration_ms":0.0})";
        } else {
          result += R"(,"ok":false,"duration_ms":0.0,"error":)";
          sgeventd::append_json(result, Value(o_.error), kWire);
          result += R"(,"traceback":"Traceback (most recent call last):\n  (test worker)\n"})";
        }
      }
    }
    result += "]}\n";
    if (o_.out_of_order && !held_) {
      held_ = std::move(result);  // answered after the next one
    } else {
      out_ += result;
      emit_held();
    }
    // A slow worker answers each event as it finishes it (as a real one would), rather than
    // after the whole batch it read.
    if (o_.sleep_ms > 0) flush();
    return -1;
  }

  void emit_held() {
    if (held_) out_ += *held_;
    held_.reset();
  }

  static void record(const std::string& path, const std::string& line) {
    // Written at once (not buffered) so a crash right after still leaves the line.
    FILE* f = std::fopen(path.c_str(), "a");
    if (!f) return;
    std::fprintf(f, "%s\n", line.c_str());
    std::fclose(f);
  }

  void send_error(const std::string& message) {
    out_ += to_json(Dict{{"type", "error"}, {"message", message}}, kWire);
    out_ += '\n';
  }

  void flush() {
    std::size_t done = 0;
    while (done < out_.size()) {
      const ssize_t n = ::write(1, out_.data() + done, out_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) std::exit(1);
      done += static_cast<std::size_t>(n);
    }
    out_.clear();
  }

  Options o_;
  std::string name_ = "test";
  std::string out_;
  long events_ = 0;
  std::optional<std::string> held_;
  std::vector<char*> leaked_;
  sgeventd::workers::CompletionWriter completions_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::vector<std::string> args;
  if (const char* env = std::getenv("SGEVENTD_TEST_WORKER")) {
    std::string_view rest(env);
    while (!rest.empty()) {
      const auto space = rest.find(' ');
      if (space != 0) args.emplace_back(rest.substr(0, space));
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    }
  }
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  parse_options(std::move(args), options);
  if (!options.record.empty()) options.record += options.record_suffix;
  if (options.ignore_term) ::signal(SIGTERM, SIG_IGN);
  return Worker(std::move(options)).run();
}
