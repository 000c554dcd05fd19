// An in-memory event log for the source's unit tests: events get ids when created and become
// visible at a chosen time, the way long transactions make ids appear late on real sites.
#pragma once

#include <functional>
#include <map>

#include "sgeventd/clock.h"
#include "sgeventd/source/event_log_reader.h"

namespace sgeventd::source {

class FakeEventLog final : public EventLogReader {
 public:
  explicit FakeEventLog(const Clock& clock) : clock_(clock) {}

  // Adds event `id`, visible from `visible_at` (default: now).
  void add(std::int64_t id, std::optional<std::chrono::system_clock::time_point> visible_at = {});
  void fail_next(int n) { failures_ = n; }
  // As server-side filters would: the event reads leave these ids out; the id reads do not.
  void hide(std::function<bool(std::int64_t)> hidden) { hidden_ = std::move(hidden); }

  sg::Result<List> read_after(std::int64_t after_id, int limit) override;
  sg::Result<List> read_between(std::int64_t after_id, std::int64_t upto, int limit) override;
  sg::Result<List> read_matching(const List& any_of, int limit) override;
  sg::Result<std::int64_t> newest_id() override;
  bool filtered() const override { return static_cast<bool>(hidden_); }
  sg::Result<std::vector<std::int64_t>> ids_between(std::int64_t after_id, std::int64_t upto,
                                                    int limit) override;
  sg::Result<std::vector<std::int64_t>> ids_matching(const List& any_of, int limit) override;
  int id_reads = 0;

  int read_after_calls = 0;
  int read_matching_calls = 0;
  std::int64_t rows_returned = 0;

 private:
  bool visible(std::int64_t id) const;
  bool shown(std::int64_t id) const { return visible(id) && !(hidden_ && hidden_(id)); }
  std::optional<sg::Error> failure();

  const Clock& clock_;
  std::map<std::int64_t, std::chrono::system_clock::time_point> events_;
  int failures_ = 0;
  std::function<bool(std::int64_t)> hidden_;
};

}  // namespace sgeventd::source
