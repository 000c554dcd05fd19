#include "workers/process_worker_host.h"

namespace sgeventd::workers {

::sgeventd::Expected<std::unique_ptr<Worker>, WorkerError> ProcessWorkerHost::start(
    const SpawnSpec& spec, SessionOptions options, SessionListener& listener) {
  auto session = WorkerSession::start(spec, std::move(options), listener, clock_);
  if (!session) return tl::unexpected(session.error());
  loop_.add(**session);
  return std::unique_ptr<Worker>(std::move(*session));
}

void ProcessWorkerHost::remove(Worker& worker) {
  // Every worker this host hands out is a session it started.
  loop_.remove(static_cast<WorkerSession&>(worker));
}

}  // namespace sgeventd::workers
