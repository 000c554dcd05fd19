// What a dispatcher pass costs the state: commits of one batch of 10 cursor advances (10
// plugins) to the SQLite store in WAL mode with synchronous=NORMAL, with the daemon's
// checkpoint() every second as it runs; then the cost of a checkpoint after a commit (the
// fsync that bounds power loss). With --url, the same commits to the PostgreSQL store (each one
// durable when it returns: its checkpoint does nothing), epoch check included. Prints JSON.
// Run by hand: build/bin/bench_state_commit [commits] [folder]   (default 20000, $TMPDIR or /tmp)
//              build/bin/bench_state_commit --url postgresql://... [commits]

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "state/pg_state_store.h"
#include "state/sqlite_state_store.h"

namespace {

using namespace sgeventd::state;
using Clock = std::chrono::steady_clock;

double percentile_us(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i =
      std::min(v.size() - 1, static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

}  // namespace

// The store the commits go to: SQLite in a folder of its own, or a state of its own name in
// PostgreSQL (holding its lease, as a leader does).
StateResult<std::unique_ptr<StateStore>> open_store(const std::string& url,
                                                    const std::string& folder) {
  if (url.empty()) {
    auto s = SqliteStateStore::open(folder + "/state.db");
    if (!s) return tl::unexpected(s.error());
    return std::unique_ptr<StateStore>(std::move(*s));
  }
  PgStateOptions o;
  o.url = url;
  o.name = "bench-" + std::to_string(getpid());
  auto s = PgStateStore::open(o);
  if (!s) return tl::unexpected(s.error());
  auto grant = (*s)->leader_lease()->try_acquire();
  if (!grant) return tl::unexpected(grant.error());
  if (!*grant) return state_error(StateErrorKind::kFenced, "the lease is held");
  return std::unique_ptr<StateStore>(std::move(*s));
}

int main(int argc, char** argv) {
  std::string url;
  int arg = 1;
  if (argc > 2 && std::string(argv[1]) == "--url") {
    url = argv[2];
    arg = 3;
  }
  const int commits = argc > arg ? std::atoi(argv[arg]) : 20000;
  const char* tmp = std::getenv("TMPDIR");
  std::string folder = argc > arg + 1 ? argv[arg + 1] : (tmp && *tmp ? tmp : "/tmp");
  folder += "/sgeventd-state-bench-" + std::to_string(getpid());
  std::filesystem::create_directories(folder);

  int status = 0;
  {
    auto store = open_store(url, folder);
    if (!store) {
      std::fprintf(stderr, "%s\n", store.error().describe().c_str());
      return 1;
    }
    std::vector<PluginKey> plugins;
    for (int i = 0; i < 10; ++i) {
      plugins.push_back({"/plugins/p" + std::to_string(i) + ".py", "p" + std::to_string(i)});
    }
    std::int64_t next_id = 1;
    auto commit_one = [&]() {
      StateBatch batch;
      for (const PluginKey& p : plugins) batch.advance_cursor(p, next_id);
      ++next_id;
      return (*store)->commit(batch);
    };
    for (int i = 0; i < 200; ++i) (void)commit_one();  // warm the statement cache and the WAL

    std::vector<double> latency;
    std::vector<double> checkpoint_latency;
    latency.reserve(static_cast<std::size_t>(commits));
    const auto start = Clock::now();
    auto next_checkpoint = start + std::chrono::seconds(1);
    for (int i = 0; i < commits; ++i) {
      const auto t0 = Clock::now();
      if (!commit_one()) status = 1;
      const auto t1 = Clock::now();
      latency.push_back(micros(t1 - t0));
      if (t1 >= next_checkpoint) {  // the daemon's checkpoint_interval, in the same thread
        if (!(*store)->checkpoint()) status = 1;
        checkpoint_latency.push_back(micros(Clock::now() - t1));
        next_checkpoint = t1 + std::chrono::seconds(1);
      }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    // The fsync: a commit followed at once by a checkpoint.
    std::vector<double> durable;
    for (int i = 0; i < 200; ++i) {
      const auto t0 = Clock::now();
      if (!commit_one() || !(*store)->checkpoint()) status = 1;
      durable.push_back(micros(Clock::now() - t0));
    }

    std::printf(
        "{\"benchmark\": \"state_commit\", \"store\": \"%s\", \"commits\": %d, "
        "\"cursor_advances_per_commit\": 10, "
        "\"seconds\": %.3f, \"commits_per_s\": %.0f, \"cursor_advances_per_s\": %.0f, "
        "\"commit_p50_us\": %.1f, \"commit_p99_us\": %.1f, \"commit_max_us\": %.1f, "
        "\"checkpoints_during_run\": %zu, \"checkpoint_p50_us\": %.1f, "
        "\"commit_plus_checkpoint_p50_us\": %.1f, \"commit_plus_checkpoint_p99_us\": %.1f, "
        "\"folder\": \"%s\"}\n",
        url.empty() ? "sqlite" : "postgresql", commits, seconds, commits / seconds,
        10 * commits / seconds, percentile_us(latency, 50), percentile_us(latency, 99),
        percentile_us(latency, 100), checkpoint_latency.size(),
        percentile_us(checkpoint_latency, 50), percentile_us(durable, 50),
        percentile_us(durable, 99), folder.c_str());
  }
  std::error_code ignored;
  std::filesystem::remove_all(folder, ignored);
  return status;
}
