// Worker round trips (issue 4, docs/plugin-protocol.md): events/s through no-op
// sgeventd-test-worker processes over the real protocol, pipes and poll loop, and the
// daemon-side CPU each event costs. Prints one JSON object. Run from anywhere:
//
//   build/bin/bench_worker_roundtrip [events]       (default 20000)
//
// Scenarios: one worker with pipeline windows 1, 8 and 64; ten workers in parallel (every
// event to all ten, as ten plugins matching every event), window 64. Each event is serialized
// once (as the dispatcher will) and counted in the daemon CPU.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "sgeventd/json.h"
#include "workers/worker_loop.h"
#include "workers/worker_session.h"

namespace {

using namespace sgeventd;
using namespace sgeventd::workers;

struct Counter : SessionListener {
  std::size_t results = 0;
  bool ready = false;
  bool closed = false;
  std::string error;
  void on_ready(Worker&) override { ready = true; }
  void on_result(Worker&, const InFlight&, Result&) override { ++results; }
  void on_closed(Worker&, const SessionEnd& e) override {
    closed = true;
    if (e.error) error = e.error->describe();
  }
};

double cpu_seconds(int who) {
  rusage u{};
  ::getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// A typical status-change EventLogEntry (~600 bytes of JSON).
Value make_event(std::int64_t id) {
  return Dict{{"type", "EventLogEntry"},
              {"id", id},
              {"event_type", "Shotgun_Task_Change"},
              {"attribute_name", "sg_status_list"},
              {"meta", Dict{{"type", "attribute_change"},
                            {"attribute_name", "sg_status_list"},
                            {"entity_type", "Task"},
                            {"entity_id", 1200 + id % 100},
                            {"field_data_type", "status_list"},
                            {"old_value", "wtg"},
                            {"new_value", "ip"},
                            {"in_create", false}}},
              {"entity", Dict{{"type", "Task"}, {"id", 1200 + id % 100}, {"name", "Animation"}}},
              {"user", Dict{{"type", "HumanUser"}, {"id", 42}, {"name", "Ada Lovelace"}}},
              {"project", Dict{{"type", "Project"}, {"id", 70}, {"name", "Demo Project"}}},
              {"session_uuid", "8a3b1a5c-5d0e-11ee-8c99-0242ac120002"},
              {"created_at", "2024-05-01T10:11:12Z"},
              {"description",
               "Ada Lovelace changed \"Status\" from \"wtg\" to \"ip\" on Task "
               "Animation"}};
}

std::string bin_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string self(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  return self.substr(0, self.rfind('/'));
}

constexpr int kMaxSpread = 512;

// Runs `events` events through `workers` no-op workers with `window`; returns a JSON object.
std::string scenario(int workers, std::size_t window, int events) {
  WorkerLoop loop;
  std::vector<std::unique_ptr<Counter>> counters;
  std::vector<std::unique_ptr<WorkerSession>> sessions;
  std::vector<std::vector<CallbackRef>> callbacks;
  SpawnSpec spec;
  spec.argv = {bin_dir() + "/sgeventd-test-worker"};
  for (int i = 0; i < workers; ++i) {
    counters.push_back(std::make_unique<Counter>());
    SessionOptions options;
    options.window = window;
    const std::string name = "noop" + std::to_string(i);
    options.plugins = {{name, "/bench/" + name + ".plugin"}};
    auto s = WorkerSession::start(spec, options, *counters.back());
    if (!s) {
      std::fprintf(stderr, "%s\n", s.error().describe().c_str());
      std::exit(1);
    }
    loop.add(**s);
    sessions.push_back(std::move(*s));
    callbacks.push_back({{name, 0}});
  }
  loop.run_until(
      [&] {
        for (auto& c : counters) {
          if (!c->ready) return false;
        }
        return true;
      },
      std::chrono::seconds(30));

  // Events are serialized lazily, once each, when the first worker needs them, and dropped
  // once every worker has been sent them (as the dispatcher's shared feed would), so the RSS
  // below is the daemon side's, not a pile of 20,000 events.
  std::deque<std::string> serialized;
  std::size_t base = 0;  // the event index serialized.front() holds
  std::vector<int> next(static_cast<std::size_t>(workers), 0);
  const double cpu0 = cpu_seconds(RUSAGE_SELF);
  const auto t0 = std::chrono::steady_clock::now();
  const bool done = loop.run_until(
      [&] {
        bool all = true;
        // A worker may run at most kMaxSpread events ahead of the slowest, as bounded
        // per-plugin queues would hold them; keeps the bench's own feed small.
        const int limit = *std::min_element(next.begin(), next.end()) + kMaxSpread;
        for (int w = 0; w < workers; ++w) {
          const auto wi = static_cast<std::size_t>(w);
          auto& s = *sessions[wi];
          while (next[wi] < events && next[wi] < limit && s.can_send()) {
            const auto k = static_cast<std::size_t>(next[wi]);
            if (k == base + serialized.size()) {
              serialized.push_back(to_json(make_event(static_cast<std::int64_t>(k) + 1),
                                           {JsonStyle::Compact, true}));
            }
            if (!s.send_event(serialized[k - base], callbacks[wi])) break;
            ++next[wi];
          }
          all = all && counters[wi]->results == static_cast<std::size_t>(events);
          if (counters[wi]->closed) {
            std::fprintf(stderr, "worker ended: %s\n", counters[wi]->error.c_str());
            std::exit(1);
          }
        }
        const auto slowest = static_cast<std::size_t>(*std::min_element(next.begin(), next.end()));
        while (base < slowest && !serialized.empty()) {
          serialized.pop_front();
          ++base;
        }
        return all;
      },
      std::chrono::seconds(300));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds(RUSAGE_SELF) - cpu0;
  const long rss = rss_kib();

  const double children0 = cpu_seconds(RUSAGE_CHILDREN);
  for (auto& s : sessions) s->shutdown(std::chrono::milliseconds(5000));
  loop.run_until(
      [&] {
        for (auto& c : counters) {
          if (!c->closed) return false;
        }
        return true;
      },
      std::chrono::seconds(30));
  const double worker_cpu = cpu_seconds(RUSAGE_CHILDREN) - children0;
  for (auto& s : sessions) loop.remove(*s);

  const double deliveries = static_cast<double>(events) * workers;
  char out[512];
  std::snprintf(out, sizeof out,
                "{\"workers\":%d,\"window\":%zu,\"events\":%d,\"complete\":%s,\"seconds\":%.3f,"
                "\"events_per_s\":%.0f,\"deliveries_per_s\":%.0f,"
                "\"daemon_cpu_us_per_event\":%.2f,\"daemon_cpu_us_per_delivery\":%.2f,"
                "\"worker_cpu_us_per_delivery\":%.2f,\"daemon_rss_kib\":%ld}",
                workers, window, events, done ? "true" : "false", seconds, events / seconds,
                deliveries / seconds, cpu * 1e6 / events, cpu * 1e6 / deliveries,
                worker_cpu * 1e6 / deliveries, rss);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int events = argc > 1 ? std::atoi(argv[1]) : 20000;
  std::vector<std::string> runs;
  for (std::size_t window : {1, 8, 64}) runs.push_back(scenario(1, window, events));
  runs.push_back(scenario(10, 64, events));
  std::printf("{\"benchmark\":\"worker_roundtrip\",\"event_bytes\":%zu,\"cores\":%ld,\"runs\":[\n",
              to_json(make_event(1), {JsonStyle::Compact, true}).size(),
              ::sysconf(_SC_NPROCESSORS_ONLN));
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::printf("  %s%s\n", runs[i].c_str(), i + 1 < runs.size() ? "," : "");
  }
  std::printf("]}\n");
  return 0;
}
