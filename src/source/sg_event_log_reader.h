// Reads EventLogEntry through the api3 client with the original daemon's query: the same
// fields, ascending ids, one page per call (sg-protocol.md section 12).
#pragma once

#include <string>
#include <vector>

#include "sgeventd/sg/client.h"
#include "sgeventd/source/event_log_reader.h"

namespace sgeventd::source {

// The fields shotgunEvents asks for.
const std::vector<std::string>& event_fields();

struct ServerFilters {
  std::vector<std::string> event_types;        // event_type in [...] when not empty
  std::vector<std::int64_t> include_projects;  // project.id in [...]
  std::vector<std::int64_t> exclude_projects;  // project.id not_in [...]
};

class SgEventLogReader final : public EventLogReader {
 public:
  explicit SgEventLogReader(sg::Client& client, ServerFilters filters = {})
      : client_(client), filters_(std::move(filters)) {}

  // The daemon narrows event types as plugins load and reload (only from the thread reading).
  void set_filters(ServerFilters filters) { filters_ = std::move(filters); }
  const ServerFilters& filters() const { return filters_; }

  sg::Result<List> read_after(std::int64_t after_id, int limit) override;
  sg::Result<List> read_between(std::int64_t after_id, std::int64_t upto, int limit) override;
  sg::Result<List> read_matching(const List& any_of, int limit) override;
  sg::Result<std::int64_t> newest_id() override;

  bool filtered() const override {
    return !filters_.event_types.empty() || !filters_.include_projects.empty() ||
           !filters_.exclude_projects.empty();
  }
  sg::Result<std::vector<std::int64_t>> ids_between(std::int64_t after_id, std::int64_t upto,
                                                    int limit) override;
  sg::Result<std::vector<std::int64_t>> ids_matching(const List& any_of, int limit) override;

 private:
  List with_server_filters(List conditions) const;
  sg::Result<List> read_ascending(List conditions, int limit);
  // Ids only, with no server-side filter.
  sg::Result<std::vector<std::int64_t>> ids_ascending(List conditions, int limit);

  sg::Client& client_;
  ServerFilters filters_;
};

}  // namespace sgeventd::source
