#include "sgeventd/workers/protocol.h"

#include <gtest/gtest.h>

#include "sgeventd/json.h"

namespace sgeventd::workers {
namespace {

TEST(Protocol, EncodesHelloAsTheDocShowsIt) {
  HelloInfo hello;
  hello.daemon = "sgeventd 0.1.0";
  hello.site = Dict{{"url", "https://x.shotgrid.autodesk.com"}, {"proxy", ""}};
  hello.worker_id = "plugins/notify.py";
  auto v = parse_json(encode_hello(hello));
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)["type"], Value("hello"));
  EXPECT_EQ((*v)["protocol"], Value(1));
  EXPECT_EQ((*v)["worker"]["id"], Value("plugins/notify.py"));
  EXPECT_EQ((*v)["worker"]["per"], Value("plugin"));
  EXPECT_EQ((*v)["site"]["url"], Value("https://x.shotgrid.autodesk.com"));
}

TEST(Protocol, HelloAsksForStartTimesOnlyWithTheTimingLog) {
  HelloInfo hello;
  auto plain = parse_json(encode_hello(hello));
  ASSERT_TRUE(plain);
  EXPECT_TRUE((*plain)["timing"].is_null());
  hello.timing = true;
  auto timed = parse_json(encode_hello(hello));
  ASSERT_TRUE(timed);
  EXPECT_EQ((*timed)["timing"], Value(true));
}

TEST(Protocol, LoadNamesTheCompletionFileWhenThereIsOne) {
  auto plain = parse_json(encode_load({"notify", "/p/notify.py", ""}));
  ASSERT_TRUE(plain);
  EXPECT_TRUE((*plain)["plugin"]["completions"].is_null());
  auto with = parse_json(encode_load({"notify", "/p/notify.py", "/s.completions/n.done"}));
  ASSERT_TRUE(with);
  EXPECT_EQ((*with)["plugin"]["completions"]["path"], Value("/s.completions/n.done"));
}

TEST(Protocol, EncodesEventAroundPreSerializedJson) {
  const std::string line = encode_event(42, true, R"({"id":7,"event_type":"Shotgun_Task_Change"})",
                                        {{"no\"te", 0}, {"notify", 2}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto v = parse_json(line);
  ASSERT_TRUE(v) << line;
  EXPECT_EQ((*v)["seq"], Value(42));
  EXPECT_EQ((*v)["late"], Value(true));
  EXPECT_EQ((*v)["event"]["id"], Value(7));
  EXPECT_EQ((*v)["callbacks"], Value(List{Dict{{"plugin", "no\"te"}, {"index", 0}},
                                          Dict{{"plugin", "notify"}, {"index", 2}}}));
}

TEST(Protocol, EncodesPingAndShutdown) {
  EXPECT_EQ(encode_ping(3), R"({"type":"ping","seq":3})");
  EXPECT_EQ(encode_shutdown(5000), R"({"type":"shutdown","grace_ms":5000})");
  EXPECT_EQ(encode_load({"notify", "/srv/p/notify.py"}),
            R"({"type":"load","plugin":{"name":"notify","path":"/srv/p/notify.py"}})");
}

TEST(Protocol, ParsesTheDocsLoadedExample) {
  auto m = parse_worker_message(
      R"({"type": "loaded", "plugin": "notify", "emails": true, "callbacks": [
        {"index": 0, "name": "onStatusChange", "match_events": {"Shotgun_Task_Change": ["sg_status_list"]},
         "stop_on_error": true, "script_name": "notify_script"},
        {"index": 1, "name": "MyCallable_7f3a2c", "match_events": null, "stop_on_error": false,
         "script_name": "notify_script"}]})");
  ASSERT_TRUE(m) << m.error();
  const auto& loaded = std::get<Loaded>(*m);
  EXPECT_EQ(loaded.plugin, "notify");
  EXPECT_EQ(loaded.emails, Value(true));
  ASSERT_EQ(loaded.callbacks.size(), 2u);
  EXPECT_EQ(loaded.callbacks[0].name, "onStatusChange");
  EXPECT_TRUE(loaded.callbacks[0].match_events.is_dict());
  EXPECT_TRUE(loaded.callbacks[0].stop_on_error);
  EXPECT_TRUE(loaded.callbacks[1].match_events.is_null());
  EXPECT_FALSE(loaded.callbacks[1].stop_on_error);
  EXPECT_EQ(loaded.callbacks[1].script_name, "notify_script");
}

TEST(Protocol, EmailsMayBeAListOrFalse) {
  auto m = parse_worker_message(
      R"({"type":"loaded","plugin":"p","emails":["a@x","b@x"],"callbacks":[]})");
  ASSERT_TRUE(m);
  EXPECT_EQ(std::get<Loaded>(*m).emails, Value(List{"a@x", "b@x"}));
  m = parse_worker_message(R"({"type":"loaded","plugin":"p","emails":false,"callbacks":[]})");
  ASSERT_TRUE(m);
  EXPECT_EQ(std::get<Loaded>(*m).emails, Value(false));
  EXPECT_FALSE(parse_worker_message(R"({"type":"loaded","plugin":"p","emails":3,"callbacks":[]})"));
}

TEST(Protocol, LoadedAndLoadFailedMayNameThePluginsSecrets) {
  auto m = parse_worker_message(
      R"({"type":"loaded","plugin":"p","callbacks":[],"secrets":["k1","k2"]})");
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(std::get<Loaded>(*m).secrets, (std::vector<std::string>{"k1", "k2"}));
  m = parse_worker_message(R"({"type":"load_failed","plugin":"p","error":"e","secrets":["k"]})");
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(std::get<LoadFailed>(*m).secrets, std::vector<std::string>{"k"});
  m = parse_worker_message(R"({"type":"loaded","plugin":"p","callbacks":[]})");
  ASSERT_TRUE(m);
  EXPECT_TRUE(std::get<Loaded>(*m).secrets.empty());
  auto bad = parse_worker_message(R"({"type":"loaded","plugin":"p","callbacks":[],"secrets":[1]})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("secrets"), std::string::npos) << bad.error();
}

TEST(Protocol, ParsesTheDocsResultExample) {
  auto m = parse_worker_message(R"({"type": "result", "seq": 42, "results": [
    {"plugin": "notify", "index": 0, "ok": true, "duration_ms": 1.8},
    {"plugin": "notify", "index": 2, "ok": false, "duration_ms": 0.4,
     "error": "KeyError: 'entity'", "traceback": "Traceback ...", "locals": "..."}]})");
  ASSERT_TRUE(m) << m.error();
  const auto& r = std::get<Result>(*m);
  EXPECT_EQ(r.seq, 42u);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_TRUE(r.results[0].ok);
  EXPECT_DOUBLE_EQ(r.results[0].duration_ms, 1.8);
  EXPECT_FALSE(r.results[1].ok);
  EXPECT_EQ(r.results[1].error, "KeyError: 'entity'");
  EXPECT_EQ(r.results[1].locals, "...");
}

TEST(Protocol, ParsesLogPongByeErrorAndUnknown) {
  auto log = parse_worker_message(
      R"({"type": "log", "plugin": "notify", "logger": "plugin.notify.onStatusChange", "level": 20,
          "message": "Task 12 is now ip", "time": 1732690000.123})");
  ASSERT_TRUE(log);
  EXPECT_EQ(std::get<LogMessage>(*log).level, 20);
  EXPECT_EQ(std::get<LogMessage>(*log).message, "Task 12 is now ip");
  EXPECT_EQ(std::get<LogMessage>(*log).event_id, 0) << "none said";
  auto with_event = parse_worker_message(
      R"({"type":"log","plugin":"p","level":20,"message":"m","event_id":4242})");
  ASSERT_TRUE(with_event);
  EXPECT_EQ(std::get<LogMessage>(*with_event).event_id, 4242);
  auto pong = parse_worker_message(R"({"type":"pong","seq":43})");
  ASSERT_TRUE(pong);
  EXPECT_EQ(std::get<Pong>(*pong).seq, 43u);
  EXPECT_TRUE(std::holds_alternative<Bye>(*parse_worker_message(R"({"type":"bye"})")));
  EXPECT_TRUE(std::holds_alternative<ErrorMessage>(
      *parse_worker_message(R"({"type":"error","message":"what?"})")));
  auto unknown = parse_worker_message(R"({"type":"metrics","x":1})");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(std::get<UnknownMessage>(*unknown).type, "metrics");
}

TEST(Protocol, MalformedLinesAreErrorsThatSayWhy) {
  EXPECT_NE(parse_worker_message("not json").error().find("not JSON"), std::string::npos);
  EXPECT_EQ(parse_worker_message("[1,2]").error(), "not a JSON object");
  EXPECT_EQ(parse_worker_message(R"({"seq":1})").error(), "no \"type\"");
  EXPECT_NE(parse_worker_message(R"({"type":"result","seq":"1","results":[]})").error().find("seq"),
            std::string::npos);
  EXPECT_NE(
      parse_worker_message(R"({"type":"result","seq":1,"results":[{"plugin":"p","index":0}]})")
          .error()
          .find("ok"),
      std::string::npos);
  EXPECT_FALSE(parse_worker_message(R"({"type":"pong","seq":-1})"));
  EXPECT_FALSE(parse_worker_message(R"({"type":"log"})"));
}

}  // namespace
}  // namespace sgeventd::workers

namespace sgeventd::workers {
namespace {

// The fast path must agree with the general parser wherever it answers.
TEST(Protocol, ResultFastPathAgreesWithTheGeneralParser) {
  const char* lines[] = {
      R"({"type":"result","seq":1,"results":[{"plugin":"a","index":0,"ok":true,"duration_ms":0.0}]})",
      R"({"type":"result","seq":18446744,"results":[]})",
      R"( { "type" : "result" , "seq" : 7 , "results" : [ { "plugin" : "p" , "index" : 3 , "ok" : false } ] } )",
      R"({"seq":2,"results":[{"ok":true,"index":1,"plugin":"x","duration_ms":12}],"type":"result"})",
      R"({"type":"result","seq":3,"results":[{"plugin":"a","index":0,"ok":true,"duration_ms":1.5e-3},)"
      R"({"plugin":"b","index":2,"ok":true,"duration_ms":-0.25}]})",
      R"({"type":"result","seq":4,"results":[{"plugin":"a","index":0,"ok":true,"duration_ms":2,)"
      R"("started":1732690000.125}]})",
  };
  for (const char* line : lines) {
    auto fast = detail::parse_result_fast(line);
    ASSERT_TRUE(fast) << line;
    auto value = parse_json(line);
    ASSERT_TRUE(value) << line;
    // The general path, forced by re-serializing with another key order.
    Dict reordered;
    for (auto it = value->as_dict().end(); it != value->as_dict().begin();) {
      --it;
      reordered.append(it->first, it->second);
    }
    auto general = parse_worker_message(" " + to_json(reordered));
    ASSERT_TRUE(general) << general.error();
    const auto& g = std::get<Result>(*general);
    EXPECT_EQ(fast->seq, g.seq);
    ASSERT_EQ(fast->results.size(), g.results.size());
    for (std::size_t i = 0; i < g.results.size(); ++i) {
      EXPECT_EQ(fast->results[i].plugin, g.results[i].plugin);
      EXPECT_EQ(fast->results[i].index, g.results[i].index);
      EXPECT_EQ(fast->results[i].ok, g.results[i].ok);
      EXPECT_DOUBLE_EQ(fast->results[i].duration_ms, g.results[i].duration_ms);
      EXPECT_DOUBLE_EQ(fast->results[i].started, g.results[i].started);
    }
  }
}

TEST(Protocol, ResultFastPathTakesOnlyJsonNumbers) {
  // Found by fuzz_worker_protocol: from_chars took these, the general parser refuses them.
  for (const char* number : {"010", "1.", "00", "01.5", "-.5", "-01", "1.e5", "+1", "1e",
                             "111111111111111111111111111111111111111111111111111111111112"}) {
    const std::string line =
        std::string(R"({"type":"result","seq":1,"results":[{"plugin":"a","index":0,"ok":true,)") +
        R"("duration_ms":)" + number + "}]}";
    EXPECT_FALSE(detail::parse_result_fast(line)) << number;
    EXPECT_FALSE(parse_worker_message(" " + line)) << number;
  }
  for (const char* number : {"0", "-0", "10", "1.5", "-0.25", "1e3", "1E-3", "2.5e+2"}) {
    const std::string line =
        std::string(R"({"type":"result","seq":1,"results":[{"plugin":"a","index":0,"ok":true,)") +
        R"("duration_ms":)" + number + "}]}";
    auto fast = detail::parse_result_fast(line);
    ASSERT_TRUE(fast) << number;
    EXPECT_DOUBLE_EQ(fast->results[0].duration_ms, std::stod(number));
  }
}

TEST(Protocol, ResultFastPathDeclinesWhatItDoesNotKnow) {
  const char* lines[] = {
      R"({"type":"result","seq":1,"results":[{"plugin":"a","index":0,"ok":false,"error":"E"}]})",
      R"({"type":"result","seq":1,"results":[{"plugin":"a\"b","index":0,"ok":true}]})",
      R"({"type":"result","seq":1,"results":[{"plugin":"é","index":0,"ok":true}]})",
      R"({"type":"result","seq":1,"results":[{"plugin":"a","index":0.5,"ok":true}]})",
      R"({"type":"result","seq":01,"results":[]})",
      R"({"type":"result","seq":-1,"results":[]})",
      R"({"type":"result","seq":1,"results":[{"plugin":"a","index":0}]})",
      R"({"type":"result","seq":1,"results":[],"extra":1})",
      R"({"type":"result","seq":1,"results":[]} x)",
      R"({"type":"result","seq":1,"results":[],})",
      R"({"type":"result","seq":1})",
      R"({"type":"result","seq":1,"results":[{"plugin":"a","index":0,"ok":true,"duration_ms":inf}]})",
      R"({"type":"result","seq":1,"results":[{"plugin":"a","index":0,"ok":true,"duration_ms":.5}]})",
  };
  for (const char* line : lines) EXPECT_FALSE(detail::parse_result_fast(line)) << line;
  // ...and the general path still reads the valid ones.
  auto m = parse_worker_message(lines[0]);
  ASSERT_TRUE(m);
  EXPECT_EQ(std::get<Result>(*m).results[0].error, "E");
  EXPECT_FALSE(parse_worker_message(lines[3]));  // index must be an integer either way
}

}  // namespace
}  // namespace sgeventd::workers
