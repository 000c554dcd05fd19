// The leader lease of a shared state (DESIGN.md section 10, docs/high-availability.md): one row
// per state name in the state's database (holder, epoch, expiry in the database's clock). The
// daemon holding it delivers events; the others wait. Taking an expired lease raises its epoch,
// and every write of the store that handed out the lease checks the epoch in the same
// transaction (fencing): once another daemon took over, a write of the old holder fails with
// kFenced, however late it arrives.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "sgeventd/state/state_types.h"

namespace sgeventd::state {

struct LeaseGrant {
  std::int64_t epoch = 0;
  // How long the lease runs from the moment the database granted it (its clock, not ours: the
  // holder must count it from before it asked).
  std::chrono::milliseconds valid_for{0};
};

// The lease row as the database has it now.
struct LeaseRow {
  std::string holder;
  std::int64_t epoch = 0;
  std::chrono::milliseconds expires_in{0};  // negative once expired
  std::chrono::milliseconds since_renewed{0};
  WallTime acquired_at{};
};

class LeaderLease {
 public:
  virtual ~LeaderLease() = default;

  // This daemon's name in the lease row: "host:pid:random".
  virtual const std::string& holder_id() const = 0;
  // Takes the lease if nobody holds it or its holder let it expire (a new epoch), or renews it
  // if this daemon holds it. nullopt: another daemon holds it.
  virtual StateResult<std::optional<LeaseGrant>> try_acquire() = 0;
  // Extends the lease held. kFenced when another daemon took it (the store's writes now fail
  // too); kUnreachable when the database did not answer (the lease may still be ours).
  virtual StateResult<LeaseGrant> renew() = 0;
  // Gives the lease up at once (a clean stop): a standby may take it without waiting.
  virtual StateResult<void> release() = 0;
  // The row, nullopt when no daemon ever held the lease.
  virtual StateResult<std::optional<LeaseRow>> read() = 0;
};

}  // namespace sgeventd::state
