#include "log/line_sink.h"

#include "log/format.h"

namespace sgeventd::log {

LineSink::LineSink(LineLayout layout, std::shared_ptr<const Redactor> redactor)
    : layout_(layout), redactor_(std::move(redactor)) {}

void LineSink::sink_it_(const spdlog::details::log_msg& msg) {
  std::string_view payload(msg.payload.data(), msg.payload.size());
  std::string line;
  switch (layout_) {
    case LineLayout::kFile:
      line = format_file_line(msg, payload);
      break;
    case LineLayout::kConsole:
      line = format_console_line(msg, payload);
      break;
    case LineLayout::kJson:
      line = format_json_line(msg, payload);
      break;
  }
  // The whole line, not just the message: fields and source paths can carry secrets too. The
  // redactor also knows each secret's JSON-escaped spelling, for the JSON layout.
  if (redactor_ && !redactor_->empty()) line = redactor_->redact(line);
  write_line(line, msg.level);
}

}  // namespace sgeventd::log
