// spdlog sinks that write whole lines in the original's layouts (format.h), with secrets
// removed from every line before it leaves the process.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/sinks/base_sink.h>

#include "log/redactor.h"

namespace sgeventd::log {

enum class LineLayout {
  kFile,     // "asctime - name - LEVEL - message" (log files, timing log)
  kConsole,  // "LEVEL:name:message" (foreground)
  kJson,     // one JSON object per line
};

class LineSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  LineSink(LineLayout layout, std::shared_ptr<const Redactor> redactor);
  // Called with the sink's mutex held; the line is complete, "\n" included.
  virtual void write_line(std::string_view line, spdlog::level::level_enum level) = 0;

 private:
  void sink_it_(const spdlog::details::log_msg& msg) final;

  LineLayout layout_;
  std::shared_ptr<const Redactor> redactor_;
};

}  // namespace sgeventd::log
