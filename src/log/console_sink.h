// Foreground output: the original's "LEVEL:name:message" lines, or JSON lines for containers.
#pragma once

#include <functional>
#include <string_view>

#include "log/line_sink.h"

namespace sgeventd::log {

// Receives complete lines; the default writes to stdout and flushes.
using ConsoleWriter = std::function<void(std::string_view line)>;

class ConsoleSink final : public LineSink {
 public:
  ConsoleSink(LineLayout layout, std::shared_ptr<const Redactor> redactor, ConsoleWriter writer);

 private:
  void write_line(std::string_view line, spdlog::level::level_enum level) override;
  void flush_() override;

  ConsoleWriter writer_;
};

}  // namespace sgeventd::log
