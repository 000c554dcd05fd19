// `sgeventd try`: one plugin's callbacks run on given events in a real worker, as the daemon
// runs them (the same worker, hello, matchEvents), one event at a time, with what each event
// caused: the plugin's log lines and stderr, each callback's outcome and traceback, and the
// writes the WriteCapture in front of the site recorded meanwhile.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "authoring/write_capture.h"
#include "sgeventd/result.h"
#include "sgeventd/value.h"
#include "sgeventd/workers/protocol.h"
#include "workers/worker_process.h"

namespace sgeventd::authoring {

struct EventOutcome {
  Value event;
  std::vector<std::string> callbacks;  // the callbacks whose matchEvents took it
  std::vector<workers::LogMessage> logs;
  std::vector<std::string> stderr_lines;
  std::vector<workers::CallbackResult> results;
  std::vector<CapturedWrite> writes;
  std::string worker_ended;  // the worker died or hung on this event (it is started again)
};

struct TryReport {
  bool loaded = false;
  std::string load_error;  // with its traceback
  std::vector<workers::CallbackInfo> callbacks;
  std::vector<workers::LogMessage> load_logs;  // what the plugin logged while loading
  std::vector<std::string> load_stderr;
  std::vector<EventOutcome> events;
  std::vector<std::string> secrets;  // script keys the plugin registered: masked in output
};

// The plugin's worker, as the daemon defines it (daemon::worker_for_file).
struct TryWorker {
  std::string id;  // the plugin's path
  workers::SpawnSpec spawn;
  std::vector<workers::PluginRef> plugins;
  bool exec = false;                     // a .plugin manifest: it gets only what it names
  std::vector<std::string> credentials;  // the hello keys an exec plugin may have
};

struct TryOptions {
  TryWorker worker;
  workers::HelloInfo hello;  // site url: the WriteCapture's
  std::chrono::milliseconds callback_timeout{std::chrono::minutes(2)};
  WriteCapture* capture = nullptr;  // writes come from here after each event
  // Called once the plugin has loaded, before any event (e.g. to start a sandbox that lets
  // the plugin's scripts in); an error ends the run.
  std::function<::sgeventd::Expected<void, std::string>(const TryReport&)> after_load;
  // Called after each event (a report streams as it runs).
  std::function<void(const EventOutcome&)> on_event;
};

::sgeventd::Expected<TryReport, std::string> run_try(TryOptions options, const List& events);

}  // namespace sgeventd::authoring
