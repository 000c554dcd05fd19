#include "log/email_sink.h"

namespace sgeventd::log {

EmailSink::EmailSink(std::shared_ptr<EmailAlerts> alerts, Recipients recipients,
                     std::shared_ptr<const Redactor> redactor)
    : alerts_(std::move(alerts)),
      recipients_(std::move(recipients)),
      redactor_(std::move(redactor)) {
  set_level(spdlog::level::err);  // the original's SMTPHandler level
}

void EmailSink::set_recipients(Recipients recipients) {
  std::lock_guard lock(mutex_);
  recipients_ = std::move(recipients);
}

void EmailSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (recipients_.empty()) return;
  Alert alert;
  alert.time = msg.time;
  alert.level = msg.level;
  alert.logger = std::string(msg.logger_name.data(), msg.logger_name.size());
  alert.message = redactor_->redact(std::string_view(msg.payload.data(), msg.payload.size()));
  if (!msg.source.empty() && msg.source.filename != nullptr) {
    alert.path = redactor_->redact(msg.source.filename);
    alert.line = msg.source.line;
    if (msg.source.funcname != nullptr) alert.function = msg.source.funcname;
  }
  alerts_->submit(recipients_, std::move(alert));
}

}  // namespace sgeventd::log
