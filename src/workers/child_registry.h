// The daemon's child processes and the ones it only inherits. Workers forked by a fork server
// (fork_server.h) reach the daemon by reparenting, which needs the daemon to be a child
// subreaper; a subreaper also inherits every orphan below it (helpers a plugin started, whose
// worker has ended), and must reap those or keep zombies. Children its own code owns (a
// WorkerProcess, a ForkServer) are registered here, so that reaping orphans never takes an exit
// status their owner waits for.
#pragma once

#include <sys/types.h>

#include <mutex>

namespace sgeventd::workers::child_registry {

// Held while a child is created and registered (so an orphan sweep cannot see it between).
std::mutex& mutex();
void add(pid_t pid);     // mutex() held
void remove(pid_t pid);  // takes mutex()

// Makes this process a child subreaper (once; what fork servers need). False if refused.
bool become_subreaper();

// Reaps the orphans that have ended (not one a registered owner waits for); how many. Does
// nothing unless this process is a subreaper (its other children are all someone's), nor while
// a child is being created (it never waits for the lock).
int reap_orphans();

}  // namespace sgeventd::workers::child_registry
