// Workers as processes: each a WorkerSession, all driven by one WorkerLoop on the thread that
// calls run_once (the dispatcher's).
#pragma once

#include "workers/worker.h"
#include "workers/worker_loop.h"
#include "workers/worker_session.h"

namespace sgeventd::workers {

class ProcessWorkerHost final : public WorkerHost {
 public:
  explicit ProcessWorkerHost(Clock& clock = Clock::real()) : clock_(clock), loop_(clock) {}

  ::sgeventd::Expected<std::unique_ptr<Worker>, WorkerError> start(
      const SpawnSpec& spec, SessionOptions options, SessionListener& listener) override;
  void remove(Worker& worker) override;
  void run_once(std::chrono::milliseconds max_wait) override { loop_.run_once(max_wait); }
  void wake() override { loop_.wake(); }

 private:
  Clock& clock_;
  WorkerLoop loop_;
};

}  // namespace sgeventd::workers
