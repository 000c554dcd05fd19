// The worker protocol v1 reference suite (docs/plugin-protocol.md, "Conformance"): runs a
// worker and checks it behaves as the document says. Any worker, in any language:
//
//   worker_conformance_test --worker "<command line>"   (or SGEVENTD_WORKER="<command line>")
//   worker_conformance_test --plugin path/to/name.plugin (an exec plugin's manifest)
//
// The command line is split like a shell would. The plugin loaded is named "conformance"
// (or the manifest's name) and must load; every event is sent to all of its callbacks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <set>
#include <string>

#include "dispatch/event_matcher.h"
#include "recording_listener.h"
#include "sgeventd/json.h"
#include "workers/manifest.h"

namespace sgeventd::workers {
namespace {

using std::chrono::milliseconds;
using testing::Harness;

SpawnSpec g_spec;
PluginRef g_plugin{"conformance", ""};
std::string g_setup_error;

const JsonWriteOptions kWire{JsonStyle::Compact, true};

// A realistic EventLogEntry, as the site returns it (sg-protocol.md, event log).
Value status_event(std::int64_t id, const std::string& new_value = "ip") {
  return Dict{{"type", "EventLogEntry"},
              {"id", id},
              {"event_type", "Shotgun_Task_Change"},
              {"attribute_name", "sg_status_list"},
              {"meta", Dict{{"type", "attribute_change"},
                            {"attribute_name", "sg_status_list"},
                            {"entity_type", "Task"},
                            {"entity_id", 12},
                            {"field_data_type", "status_list"},
                            {"old_value", "wtg"},
                            {"new_value", new_value}}},
              {"entity", Dict{{"type", "Task"}, {"id", 12}, {"name", "Animation"}}},
              {"user", Dict{{"type", "HumanUser"}, {"id", 5}, {"name", "Ada"}}},
              {"project", Dict{{"type", "Project"}, {"id", 70}, {"name", "Demo"}}},
              {"session_uuid", "8a3b1a5c-5d0e-11ee-8c99-0242ac120002"},
              {"created_at", "2024-05-01T10:11:12Z"}};
}

class Conformance : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(g_setup_error.empty()) << g_setup_error;
    ASSERT_FALSE(g_spec.argv.empty())
        << "no worker: pass --worker \"<command line>\", --plugin FILE or set SGEVENTD_WORKER";
  }

  // Starts the worker and waits until it is ready with the plugin loaded.
  void start_loaded(std::size_t window = 8) {
    SessionOptions options;
    options.window = window;
    options.hello.daemon = "sgeventd-conformance 1";
    options.hello.site =
        Dict{{"url", "https://conformance.invalid"}, {"proxy", ""}, {"use_session_uuid", true}};
    options.hello.config = Dict{{"daemon", Dict{{"logging", "20"}}}};
    options.hello.worker_id = g_plugin.path;
    options.plugins = {g_plugin};
    ASSERT_TRUE(h_.start(g_spec, options)) << h_.spawn_error->describe();
    ASSERT_TRUE(h_.wait_ready()) << end_text();
    ASSERT_EQ(h_.listener.loaded.size(), 1u)
        << "the plugin must load: "
        << (h_.listener.load_failed.empty() ? std::string("no answer")
                                            : h_.listener.load_failed[0].error);
    for (const auto& cb : h_.listener.loaded[0].callbacks) {
      callbacks_.push_back({h_.listener.loaded[0].plugin, cb.index});
    }
  }

  std::string end_text() const {
    if (!h_.listener.end) return "(still running)";
    std::string text =
        h_.listener.end->error ? h_.listener.end->error->describe() : std::string("clean exit");
    for (const auto& line : h_.listener.stderr_lines) text += "\n  stderr: " + line;
    return text;
  }

  // Sends events 1..n keeping the window full; true when all were answered.
  bool send_events(int n, const std::function<Value(int)>& make = {}) {
    int sent = 0;
    const std::size_t before = h_.listener.results.size();
    return h_.wait([&] {
      while (sent < n && h_.session->can_send()) {
        ++sent;
        const Value ev = make ? make(sent) : status_event(1000 + sent);
        EXPECT_TRUE(h_.session->send_event(to_json(ev, kWire), callbacks_));
      }
      return h_.listener.end.has_value() ||
             h_.listener.results.size() == before + static_cast<std::size_t>(n);
    }) && !h_.listener.end;
  }

  void expect_results_match_callbacks() {
    for (const auto& [flight, result] : h_.listener.results) {
      ASSERT_EQ(result.results.size(), callbacks_.size())
          << "one result entry per callback of event seq " << result.seq;
      for (std::size_t i = 0; i < callbacks_.size(); ++i) {
        EXPECT_EQ(result.results[i].plugin, callbacks_[i].plugin);
        EXPECT_EQ(result.results[i].index, callbacks_[i].index)
            << "entries in the order of event.callbacks";
        EXPECT_TRUE(result.results[i].ok) << result.results[i].error;
      }
    }
  }

  Harness h_;
  std::vector<CallbackRef> callbacks_;
};

TEST_F(Conformance, HandshakeAnswersProtocolOneAndNamesTheWorker) {
  start_loaded();
  ASSERT_TRUE(h_.listener.hello);
  EXPECT_EQ(h_.listener.hello->protocol, 1);
  EXPECT_FALSE(h_.listener.hello->worker.empty()) << "hello.worker should name the worker";
}

TEST_F(Conformance, LoadedDescribesUsableCallbacks) {
  start_loaded();
  const Loaded& loaded = h_.listener.loaded[0];
  EXPECT_EQ(loaded.plugin, g_plugin.name);
  ASSERT_FALSE(loaded.callbacks.empty()) << "a plugin registers at least one callback";
  std::set<int> indexes;
  for (const auto& cb : loaded.callbacks) {
    EXPECT_TRUE(indexes.insert(cb.index).second) << "callback indexes are unique";
    auto matcher = dispatch::EventMatcher::from_value(cb.match_events);
    EXPECT_TRUE(matcher) << "match_events of callback " << cb.index << ": " << matcher.error();
  }
  const Value& emails = loaded.emails;
  EXPECT_TRUE(emails.is_bool() || emails.is_list());
}

TEST_F(Conformance, ResultsComeInOrderOnePerEventStrictRequestResponse) {
  start_loaded(1);
  ASSERT_TRUE(send_events(20)) << end_text();
  expect_results_match_callbacks();
}

TEST_F(Conformance, ResultsComeInOrderUnderAPipelineWindow) {
  start_loaded(16);
  ASSERT_TRUE(send_events(200)) << end_text();
  ASSERT_EQ(h_.listener.results.size(), 200u);
  for (std::size_t i = 0; i < 200; ++i) EXPECT_EQ(h_.listener.results[i].second.seq, i + 1);
  expect_results_match_callbacks();
}

TEST_F(Conformance, PongComesAfterEverythingSentBeforeIt) {
  start_loaded(8);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(h_.session->send_event(to_json(status_event(i), kWire), callbacks_));
  }
  auto seq = h_.session->ping();
  ASSERT_TRUE(seq);
  ASSERT_TRUE(h_.wait([&] { return !h_.listener.pongs.empty() || h_.listener.end; })) << end_text();
  ASSERT_FALSE(h_.listener.end) << end_text();
  EXPECT_EQ(h_.listener.results.size(), 5u);
  EXPECT_EQ(h_.listener.pongs[0].seq, *seq);
}

TEST_F(Conformance, ShutdownAnswersInFlightThenByeAndExitZero) {
  start_loaded(4);
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(h_.session->send_event(to_json(status_event(i), kWire), callbacks_));
  }
  h_.session->shutdown(milliseconds(10'000));
  ASSERT_TRUE(h_.wait_end());
  EXPECT_FALSE(h_.listener.end->error) << end_text();
  EXPECT_EQ(h_.listener.end->exit.code, 0);
  EXPECT_EQ(h_.listener.results.size(), 4u) << "events sent before shutdown are answered";
}

TEST_F(Conformance, UnknownMessageTypeGetsAnErrorAndTheWorkerCarriesOn) {
  start_loaded();
  // Not part of the session's vocabulary: written straight to the worker's stdin.
  h_.session->process().send(R"({"type":"no_such_type","x":1})");
  ASSERT_TRUE(h_.wait([&] { return !h_.listener.worker_errors.empty() || h_.listener.end; }))
      << "no error message for an unknown type";
  ASSERT_FALSE(h_.listener.end) << end_text();
  ASSERT_TRUE(send_events(3)) << end_text();
  ASSERT_TRUE(h_.session->ping());
  EXPECT_TRUE(h_.wait([&] { return !h_.listener.pongs.empty() || h_.listener.end; }));
}

TEST_F(Conformance, UnknownKeysAreIgnored) {
  start_loaded();
  ASSERT_TRUE(send_events(3, [](int i) {
    Value ev = status_event(i);
    ev.as_dict().set("some_future_field", Dict{{"nested", List{1, 2, 3}}});
    return ev;
  })) << end_text();
  expect_results_match_callbacks();
}

TEST_F(Conformance, LargeEventsOfOneMebibyte) {
  start_loaded(4);
  ASSERT_TRUE(send_events(4, [](int i) {
    Value ev = status_event(i);
    ev.as_dict()["meta"].as_dict().set("new_value", std::string(1 << 20, 'x'));
    return ev;
  })) << end_text();
  expect_results_match_callbacks();
}

TEST_F(Conformance, UnicodeSurvivesTheRoundTrip) {
  start_loaded();
  ASSERT_TRUE(send_events(3, [](int i) {
    Value ev = status_event(i, "términé ✓ 完成 🎬");
    ev.as_dict()["entity"].as_dict().set("name", "Ünïcödé \u2028 line sep \\ \" quote");
    return ev;
  })) << end_text();
  expect_results_match_callbacks();
}

TEST_F(Conformance, EndOfInputMakesTheWorkerExit) {
  start_loaded();
  // The daemon died: its end of the worker's stdin closes. The worker must not linger.
  h_.session->process().close_input();
  EXPECT_TRUE(h_.wait_end()) << "the worker kept running after its input closed";
}

}  // namespace
}  // namespace sgeventd::workers

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  using namespace sgeventd::workers;
  std::string worker;
  std::string manifest;
  if (const char* env = std::getenv("SGEVENTD_WORKER")) worker = env;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--worker" || arg == "--plugin") && i + 1 < argc) {
      (arg == "--worker" ? worker : manifest) = argv[++i];
    } else if (arg.rfind("--worker=", 0) == 0) {
      worker = arg.substr(9);
    } else if (arg.rfind("--plugin=", 0) == 0) {
      manifest = arg.substr(9);
    } else {
      std::cerr << "unknown argument " << arg << "\n";
      return 2;
    }
  }
  if (!manifest.empty()) {
    auto plugin = load_exec_plugin(manifest);
    if (!plugin) {
      g_setup_error = plugin.error().describe();
    } else {
      g_spec = plugin->spawn;
      g_plugin = plugin->plugin;
    }
  } else if (!worker.empty()) {
    auto words = split_args(worker);
    if (!words) {
      g_setup_error = "--worker: " + words.error();
    } else {
      g_spec.argv = *words;
    }
  }
  return RUN_ALL_TESTS();
}
