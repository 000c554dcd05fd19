// Adaptive polling against the fixed poll on simulated working days (source/poll_simulation.h):
// reads, reads per minute, and how long events wait to be read (p50, p95, max), per seeded
// day, as JSON. Run by hand:
//   bench_poll_schedule [--fetch S] [--min S] [--max S] [--growth X] [--saved S] [--days N]
//                       [--times FILE]
// The defaults are the daemon's (fetch_interval 5 s). Both the uniform and the log-uniform
// spread of quiet periods are simulated; --times simulates instead the events created at the
// seconds listed in FILE, one per line (bench/latency_bench.py's real slice, to compare the
// daemon with its model).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "source/poll_simulation.h"

using namespace sgeventd::source;

namespace {

std::chrono::milliseconds ms(double s) {
  return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

void print(const char* name, const PollSimulation& r, bool last) {
  std::printf(
      "      \"%s\": {\"reads\": %lld, \"reads_per_minute\": %.2f, \"p50_s\": %.3f, \"p95_s\": "
      "%.3f, \"max_s\": %.3f}%s\n",
      name, static_cast<long long>(r.reads), r.reads_per_minute(), r.percentile(0.5),
      r.percentile(0.95), r.percentile(1.0), last ? "" : ",");
}

}  // namespace

int main(int argc, char** argv) {
  PollScheduleOptions adaptive;
  adaptive.adaptive = true;
  double fetch = 5, min = 0, max = 0;
  int days = 5;
  std::string times_file;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const double v = std::atof(argv[i + 1]);
    if (key == "--fetch")
      fetch = v;
    else if (key == "--min")
      min = v;
    else if (key == "--max")
      max = v;
    else if (key == "--growth")
      adaptive.growth = v;
    else if (key == "--quick-for")
      adaptive.quick_for = ms(v);
    else if (key == "--saved")
      adaptive.saved_seconds = v;
    else if (key == "--days")
      days = static_cast<int>(v);
    else if (key == "--times")
      times_file = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  adaptive.fetch_interval = ms(fetch);
  adaptive.min_interval = ms(min);
  adaptive.max_interval = ms(max);
  const auto used = resolved(adaptive);
  PollScheduleOptions fixed;
  fixed.fetch_interval = ms(fetch);
  if (!times_file.empty()) {
    std::ifstream in(times_file);
    std::vector<double> events;
    for (double t; in >> t;) events.push_back(t);
    if (events.empty()) {
      std::fprintf(stderr, "no event times in %s\n", times_file.c_str());
      return 2;
    }
    std::printf("{\n  \"events\": %zu,\n", events.size());
    print("fixed", simulate_polls(events, fixed), false);
    print("adaptive", simulate_polls(events, adaptive), true);
    std::printf("}\n");
    return 0;
  }
  std::printf(
      "{\n  \"fetch_interval_s\": %.3f, \"min_interval_s\": %.3f, \"max_interval_s\": "
      "%.3f, \"growth\": %.2f, \"saved_s\": %.0f,\n  \"days\": [\n",
      fetch, used.min_interval.count() / 1000.0, used.max_interval.count() / 1000.0, used.growth,
      used.saved_seconds);
  bool first = true;
  for (bool log_uniform : {false, true}) {
    for (int seed = 1; seed <= days; ++seed) {
      DayPattern day;
      day.seed = static_cast<std::uint32_t>(seed);
      day.log_uniform_quiet = log_uniform;
      const auto events = working_day(day);
      const auto f = simulate_polls(events, fixed);
      const auto a = simulate_polls(events, adaptive);
      std::printf("%s    {\"seed\": %d, \"quiet\": \"%s\", \"events\": %zu,\n", first ? "" : ",\n",
                  seed, log_uniform ? "log-uniform" : "uniform", events.size());
      print("fixed", f, false);
      print("adaptive", a, false);
      std::printf("      \"ratio\": {\"reads\": %.3f, \"p50\": %.3f, \"p95\": %.3f}}",
                  static_cast<double>(a.reads) / static_cast<double>(f.reads),
                  a.percentile(0.5) / f.percentile(0.5), a.percentile(0.95) / f.percentile(0.95));
      first = false;
    }
  }
  std::printf("\n  ]\n}\n");
  return 0;
}
