#include "log/console_sink.h"

#include <cstdio>

namespace sgeventd::log {

ConsoleSink::ConsoleSink(LineLayout layout, std::shared_ptr<const Redactor> redactor,
                         ConsoleWriter writer)
    : LineSink(layout, std::move(redactor)), writer_(std::move(writer)) {}

void ConsoleSink::write_line(std::string_view line, spdlog::level::level_enum) {
  if (writer_) {
    writer_(line);
    return;
  }
  // Flushed per line: a container's log collector should see records as they happen.
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

void ConsoleSink::flush_() {
  if (!writer_) std::fflush(stdout);
}

}  // namespace sgeventd::log
