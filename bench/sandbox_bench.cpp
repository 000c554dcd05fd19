// Sandbox benchmark (issue 3): prints one JSON object.
//   bulk_load: 1,000,000 generated events (memory, then into a SQLite data file), seconds and
//              the process's peak RSS;
//   read_500:  `read` of 500 EventLogEntry rows with the poller's fields, through the real
//              client over loopback, requests per second;
//   append_visible: a create by one client, then a read by another for id > previous head.
// Usage: bench_sandbox [events=1000000] [reads=300]

#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "sgeventd/json.h"
#include "sgeventd/sandbox.h"
#include "sgeventd/sg/client.h"

using namespace sgeventd;
using Steady = std::chrono::steady_clock;

namespace {

long peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double seconds_since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

Value control(const sandbox::Sandbox& s, const std::string& action, const Value& body) {
  httplib::Client http("127.0.0.1", s.port());
  http.set_read_timeout(600, 0);
  auto r = http.Post(("/_sandbox/" + action).c_str(), to_json(body), "application/json");
  if (!r || r->status != 200) {
    std::cerr << action << " failed\n";
    std::exit(1);
  }
  return *parse_json(r->body);
}

sg::Client client(const sandbox::Sandbox& s) {
  sg::ConnectionSettings c;
  c.base_url = s.url();
  c.script_name = "sandbox";
  c.script_key = "sandbox-key";
  return std::move(*sg::Client::create(c));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const long events = argc > 1 ? std::stol(argv[1]) : 1000000;
  const int reads = argc > 2 ? std::stoi(argv[2]) : 300;
  sandbox::SandboxOptions options;
  options.test_controls = true;
  Dict out;

  // 1. Bulk load into memory.
  sandbox::Sandbox site;
  if (auto ok = site.start(options); !ok) {
    std::cerr << ok.error() << "\n";
    return 1;
  }
  const long rss_before = peak_rss_kib();
  auto t = Steady::now();
  control(site, "generate", Dict{{"count", Value(static_cast<long long>(events))}});
  const double bulk_seconds = seconds_since(t);
  const long rss_after = peak_rss_kib();
  out.append("bulk_load_memory",
             Dict{{"events", Value(static_cast<long long>(events))},
                  {"seconds", bulk_seconds},
                  {"peak_rss_mib", static_cast<double>(rss_after) / 1024.0},
                  {"peak_rss_mib_before", static_cast<double>(rss_before) / 1024.0}});

  // 2. read of 500 rows, the daemon's poll, at cursors spread over the log.
  {
    auto sg = client(site);
    sg::FindOptions o;
    o.fields = {"id",   "event_type", "attribute_name", "meta",      "entity",
                "user", "project",    "session_uuid",   "created_at"};
    o.order = List{Dict{{"field_name", "id"}, {"direction", "asc"}}};
    o.limit = 500;
    if (!sg.find("EventLogEntry", Value(List{List{"id", "greater_than", 0}}), o))
      return 1;  // warm up
    std::size_t rows = 0;
    t = Steady::now();
    for (int i = 0; i < reads; ++i) {
      const long cursor = (static_cast<long>(i) * 7919 * 500) % std::max(1L, events - 600);
      auto page = sg.find("EventLogEntry", Value(List{List{"id", "greater_than", cursor}}), o);
      if (!page) {
        std::cerr << page.error().describe() << "\n";
        return 1;
      }
      rows += page->size();
    }
    const double secs = seconds_since(t);
    out.append("read_500", Dict{{"requests", reads},
                                {"rows_per_request", static_cast<double>(rows) / reads},
                                {"requests_per_second", reads / secs},
                                {"ms_per_request", secs * 1000 / reads}});
  }

  // 2b. The same reads as raw HTTP (no client-side JSON decoding): the server's own rate.
  {
    httplib::Client http("127.0.0.1", site.port());
    double bytes = 0;
    t = Steady::now();
    for (int i = 0; i < reads; ++i) {
      const long cursor = (static_cast<long>(i) * 7919 * 500) % std::max(1L, events - 600);
      const std::string body =
          R"({"method_name": "read", "params": [{"script_name": "sandbox", "script_key": )"
          R"("sandbox-key"}, {"type": "EventLogEntry", "return_fields": ["id", "event_type", )"
          R"("attribute_name", "meta", "entity", "user", "project", "session_uuid", )"
          R"("created_at"], "filters": {"logical_operator": "and", "conditions": [{"path": )"
          R"("id", "relation": "greater_than", "values": [)" +
          std::to_string(cursor) +
          R"(]}]}, "return_only": "active", "paging": {"entities_per_page": 500, )"
          R"("current_page": 1}, "sorts": [{"field_name": "id", "direction": "asc"}], )"
          R"("api_return_image_urls": true, "return_paging_info_without_counts": false}]})";
      auto r = http.Post("/api3/json", body, "application/json");
      if (!r || r->status != 200) return 1;
      bytes += static_cast<double>(r->body.size());
    }
    const double secs = seconds_since(t);
    out.append("read_500_server_only", Dict{{"requests", reads},
                                            {"bytes_per_reply", bytes / reads},
                                            {"requests_per_second", reads / secs},
                                            {"ms_per_request", secs * 1000 / reads}});
  }

  // 3. append -> visible.
  {
    auto writer = client(site);
    auto reader = client(site);
    std::vector<double> create_ms, read_ms;
    int visible_on_first_read = 0;
    constexpr int kTries = 200;
    for (int i = 0; i < kTries; ++i) {
      const auto head = site.last_event_id();
      auto t0 = Steady::now();
      if (!writer.create("Asset", Dict{{"code", "a" + std::to_string(i)}})) return 1;
      create_ms.push_back(seconds_since(t0) * 1000);
      auto t1 = Steady::now();
      auto got = reader.find("EventLogEntry", Value(List{List{"id", "greater_than", head}}),
                             {.fields = {"id"}, .limit = 1});
      read_ms.push_back(seconds_since(t1) * 1000);
      if (got && !got->empty()) ++visible_on_first_read;
    }
    out.append("append_visible", Dict{{"tries", kTries},
                                      {"visible_on_first_read", visible_on_first_read},
                                      {"create_ms_median", median(create_ms)},
                                      {"next_read_ms_median", median(read_ms)}});
  }
  site.stop();

  // 4. Bulk load into a data file, then the restart that reads it back.
  {
    const std::string db = "/tmp/sgeventd_sandbox_bench_" + std::to_string(getpid()) + ".db";
    for (const char* s : {"", "-wal", "-shm"}) std::remove((db + s).c_str());
    options.data_file = db;
    sandbox::Sandbox persisted;
    if (auto ok = persisted.start(options); !ok) return 1;
    t = Steady::now();
    control(persisted, "generate", Dict{{"count", Value(static_cast<long long>(events))}});
    const double write_secs = seconds_since(t);
    persisted.stop();
    sandbox::Sandbox restarted;
    t = Steady::now();
    if (auto ok = restarted.start(options); !ok) return 1;
    const double load_secs = seconds_since(t);
    const bool same = restarted.last_event_id() >= events;
    restarted.stop();
    for (const char* s : {"", "-wal", "-shm"}) std::remove((db + s).c_str());
    out.append("bulk_load_sqlite",
               Dict{{"events", Value(static_cast<long long>(events))},
                    {"write_seconds", write_secs},
                    {"restart_load_seconds", load_secs},
                    {"restart_kept_events", same},
                    {"process_peak_rss_mib", static_cast<double>(peak_rss_kib()) / 1024.0}});
  }
  std::cout << to_json(Value(std::move(out)), {.style = JsonStyle::Pretty}) << "\n";
  return 0;
}
