// GET /metrics (docs/admin-api.md): the status snapshot as Prometheus text, built with
// prometheus-cpp's registry and text serializer at each scrape. Built from the snapshot the
// daemon publishes every second, so a scrape never touches dispatch; with 100 plugins it takes
// about a millisecond.
#pragma once

#include <string>

#include "sgeventd/value.h"

namespace sgeventd::daemon {

// `status`: the status file's object (null while starting: then only the build info).
std::string metrics_text(const Value& status, const std::string& version);

}  // namespace sgeventd::daemon
